package examples

import (
	"context"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// The rules in shop.slipway.yaml are the README's policy examples: each
// must compile, pass a well-made object and catch the one it is about.
func TestDocumentedRules(t *testing.T) {
	data, err := os.ReadFile("shop.slipway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := repoconfig.Parse("shop.slipway.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := policy.CompileRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const good = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop-production, labels: {team: shop}}
spec:
  template:
    spec:
      containers:
        - {name: web, image: "ghcr.io/acme/web:1.5.0", resources: {limits: {cpu: "1"}}, securityContext: {privileged: false}}
`
	tests := []struct {
		env, rule, bad string
	}{
		{"staging", "no-latest-tag", strings.Replace(good, ":1.5.0", ":latest", 1)},
		{"production", "limits-set", strings.Replace(good, `, resources: {limits: {cpu: "1"}}`, "", 1)},
		{"production", "no-privileged", strings.Replace(good, "privileged: false", "privileged: true", 1)},
		{"production", "team-label", strings.Replace(good, ", labels: {team: shop}", "", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var rule []policy.CompiledRule
			for _, r := range rules.For(tt.env) {
				if r.Name == tt.rule {
					rule = append(rule, r)
				}
			}
			if len(rule) != 1 {
				t.Fatalf("no rule %s in %s", tt.rule, tt.env)
			}
			if !strings.Contains(string(readme), "name: "+tt.rule) {
				t.Errorf("the README does not show the rule %s", tt.rule)
			}
			if it := policy.CheckRules(context.Background(), rule, []*unstructured.Unstructured{object(t, good)})[0]; !it.Met {
				t.Errorf("the good object breaks %s: %s %+v", tt.rule, it.Reason, it.Violations)
			}
			it := policy.CheckRules(context.Background(), rule, []*unstructured.Unstructured{object(t, tt.bad)})[0]
			if it.Met || len(it.Violations) != 1 || strings.Contains(it.Violations[0].Message, "could not be evaluated") {
				t.Errorf("%s does not catch its object cleanly: %s %+v", tt.rule, it.Reason, it.Violations)
			}
		})
	}
}

func object(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}
