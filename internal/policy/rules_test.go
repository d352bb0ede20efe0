package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/strictyaml"
)

func TestCompileRulesErrors(t *testing.T) {
	const prefix = "version: 1\nenvironments:\n  - name: staging\n    path: deploy\n    cluster: c\n    policy:\n      rules:\n"
	tests := []struct {
		name  string
		rules string
		want  []string
	}{
		{
			name:  "syntax error names the line",
			rules: "        - name: ok\n          expr: \"true\"\n        - name: broken\n          expr: \"object.spec.(\"\n",
			want:  []string{`.slipway.yaml:11: environments[0].policy.rules[1].expr: Syntax error`, "(column "},
		},
		{
			name:  "not a bool",
			rules: "        - name: count\n          expr: size(object.spec.containers)\n",
			want:  []string{`.slipway.yaml:9: environments[0].policy.rules[0].expr: must give true or false, but gives int`},
		},
		{
			name:  "undeclared name",
			rules: "        - name: typo\n          expr: obj.kind == 'Pod'\n",
			want:  []string{`.slipway.yaml:9: environments[0].policy.rules[0].expr: undeclared reference to 'obj'`},
		},
		{
			name:  "multi-line expression says where inside it",
			rules: "        - name: multi\n          expr: |\n            object.kind == 'Pod' &&\n              object.spec.(\n",
			want:  []string{"environments[0].policy.rules[0].expr: Syntax error", "line 2 column"},
		},
		{
			name:  "duplicate names",
			rules: "        - name: pinned\n          expr: \"true\"\n        - name: pinned\n          expr: \"false\"\n",
			want:  []string{`.slipway.yaml:10: environments[0].policy.rules[1].name: rule "pinned" is already defined at policy.rules[0]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileRules(parse(t, prefix+tt.rules))
			var errs strictyaml.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v (%T): want strictyaml.Errors", err, err)
			}
			if len(errs) != 1 {
				t.Errorf("%d errors, want 1:\n%v", len(errs), err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines:\n%v", err)
			}
			containsAll(t, "error", err.Error(), tt.want)
		})
	}
}

// A config built in code skips Parse; CompileRules still refuses an empty
// expression rather than passing CEL's puzzling syntax error on.
func TestCompileRulesEmptyExpr(t *testing.T) {
	cfg := &repoconfig.Config{File: repoconfig.File{Environments: []repoconfig.Environment{
		{Name: "staging", Policy: repoconfig.Policy{Rules: []repoconfig.Rule{{Name: "blank", Expr: "  "}}}},
	}}}
	_, err := CompileRules(cfg)
	if err == nil || !strings.Contains(err.Error(), "environments[0].policy.rules[0].expr: is required") {
		t.Errorf("err = %v", err)
	}
}

func TestCompileRulesPerEnvironment(t *testing.T) {
	cfg := parse(t, `version: 1
environments:
  - name: staging
    path: a
    cluster: c
    policy:
      rules:
        - {name: a, expr: "true"}
        - {name: b, expr: "object.kind != ''"}
  - name: production
    path: b
    cluster: c
`)
	rules, err := CompileRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := rules.For("staging"); len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Errorf("staging rules %+v", got)
	}
	if got := rules.For("production"); len(got) != 0 {
		t.Errorf("production rules %+v", got)
	}
	if got := (Rules{}).For("staging"); got != nil {
		t.Errorf("zero Rules: %+v", got)
	}
}

func TestRules(t *testing.T) {
	const pinned = "        - name: no-latest-tag\n" +
		"          match: {kinds: [Deployment, StatefulSet]}\n" +
		"          expr: \"object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))\"\n" +
		"          message: images must be pinned\n"
	weird := deployment("shop", "weird")
	weird.Object["spec"] = map[string]any{"template": map[string]any{"spec": map[string]any{"containers": "not a list"}}}
	wrongType := deployment("shop", "numbers")
	wrongType.Object["spec"] = map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"image": int64(42)}}}}}
	goValue := deployment("shop", "gochan")
	goValue.Object["spec"] = map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"image": make(chan int)}}}}}
	var many []any
	for i := range 3000 {
		many = append(many, fmt.Sprint(i))
	}

	tests := []struct {
		name      string
		rules     string
		objects   []*unstructured.Unstructured
		wantMet   bool
		want      []Violation
		wantIn    string // substring of the single violation's message
		wantCount string // substring of the reason
	}{
		{
			name:  ":latest names the object",
			rules: pinned,
			objects: []*unstructured.Unstructured{
				deployment("shop", "web", "nginx:1.27", "busybox:latest"),
				deployment("shop", "api", "api@sha256:abcd"),
			},
			want:      []Violation{{Object: "Deployment/shop/web", Message: "images must be pinned"}},
			wantCount: "1 of 2 objects violates: images must be pinned",
		},
		{
			name:    "match by kind skips other kinds",
			rules:   pinned,
			objects: []*unstructured.Unstructured{object("ConfigMap", "shop", "settings", nil), object("DaemonSet", "shop", "agent", nil)},
			wantMet: true, wantCount: "no object matches",
		},
		{
			name: "match by namespace; cluster-scoped objects have none",
			rules: "        - name: prod-replicas\n" +
				"          match: {namespaces: [prod]}\n" +
				"          expr: object.spec.replicas >= 2\n",
			objects: []*unstructured.Unstructured{
				object("Deployment", "prod", "one", map[string]any{"replicas": int64(1)}),
				object("Deployment", "prod", "two", map[string]any{"replicas": int64(2)}),
				object("Deployment", "dev", "single", map[string]any{"replicas": int64(1)}),
				object("Namespace", "", "prod", nil),
			},
			want: []Violation{{Object: "Deployment/prod/one", Message: "expression is false: object.spec.replicas >= 2"}},
		},
		{
			name:    "cluster-scoped objects are Kind/name",
			rules:   "        - name: labelled\n          expr: has(object.metadata.labels)\n          message: label it\n",
			objects: []*unstructured.Unstructured{object("Namespace", "", "shop", nil)},
			want:    []Violation{{Object: "Namespace/shop", Message: "label it"}},
		},
		{
			name:    "has() makes a field optional",
			rules:   "        - name: no-host-network\n          expr: \"!has(object.spec.hostNetwork) || !object.spec.hostNetwork\"\n",
			objects: []*unstructured.Unstructured{object("Pod", "shop", "p", map[string]any{}), object("Pod", "shop", "q", map[string]any{"hostNetwork": false})},
			wantMet: true, wantCount: "2 objects pass",
		},
		{
			name:    "a missing key is a violation, not a pass",
			rules:   pinned,
			objects: []*unstructured.Unstructured{object("Deployment", "shop", "bare", map[string]any{})},
			wantIn:  "rule could not be evaluated: no such key: template",
		},
		{
			name:    "containers that are not a list",
			rules:   pinned,
			objects: []*unstructured.Unstructured{weird},
			wantIn:  "rule could not be evaluated",
		},
		{
			name:    "an image that is a number",
			rules:   pinned,
			objects: []*unstructured.Unstructured{wrongType},
			wantIn:  "rule could not be evaluated",
		},
		{
			name:    "a Go value no manifest could hold",
			rules:   pinned,
			objects: []*unstructured.Unstructured{goValue},
			wantIn:  "rule could not be evaluated",
		},
		{
			name:    "a dyn rule that gives a string",
			rules:   "        - name: named\n          expr: object.metadata.name\n",
			objects: []*unstructured.Unstructured{object("Pod", "shop", "p", nil)},
			wantIn:  "rule could not be evaluated: it gave string, not true or false",
		},
		{
			name:    "a quadratic rule on a big object stops at the cost limit",
			rules:   "        - name: distinct\n          expr: object.spec.items.all(x, object.spec.items.exists_one(y, x == y))\n",
			objects: []*unstructured.Unstructured{object("ConfigMap", "shop", "big", map[string]any{"items": many})},
			wantIn:  "cost limit exceeded",
		},
		{
			name:    "nil objects are skipped",
			rules:   pinned,
			objects: []*unstructured.Unstructured{nil, {}},
			wantMet: true, wantCount: "no object matches",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, rules := compileOne(t, tt.rules)
			res := Evaluate(t.Context(), Input{Env: env, Rules: rules, HeadSHA: head, Objects: tt.objects}, &fakeDir{})
			it := res.Items[len(res.Items)-1]
			if it.Kind != ItemRule || it.Name != rules[0].Name || it.Met != tt.wantMet {
				t.Fatalf("item %+v: want rule %s met=%v", it, rules[0].Name, tt.wantMet)
			}
			if tt.wantCount != "" && !strings.Contains(it.Reason, tt.wantCount) {
				t.Errorf("reason %q does not contain %q", it.Reason, tt.wantCount)
			}
			switch {
			case tt.wantIn != "":
				if len(it.Violations) != 1 || !strings.Contains(it.Violations[0].Message, tt.wantIn) {
					t.Errorf("violations %+v: want one containing %q", it.Violations, tt.wantIn)
				}
			case fmt.Sprint(it.Violations) != fmt.Sprint(tt.want):
				t.Errorf("violations\n%+v\nwant\n%+v", it.Violations, tt.want)
			}
		})
	}
}

// A rule's evaluation error on a Secret is withheld when it would quote one
// of the Secret's values; other errors, and other objects, keep theirs.
func TestRuleErrorsNeverQuoteSecretValues(t *testing.T) {
	const value = "hunter2("
	secret := object("Secret", "shop", "db", nil)
	delete(secret.Object, "spec")
	secret.Object["stringData"] = map[string]any{"password": value}
	secret.Object["data"] = map[string]any{"token": "czNjcjN0LXQwa2Vu"} // s3cr3t-t0ken
	cm := object("ConfigMap", "shop", "settings", nil)
	cm.Object["data"] = map[string]any{"password": value}
	tests := []struct {
		name, expr string
		obj        *unstructured.Unstructured
		want       string
	}{
		{"a value used as a key", "object.stringData[object.stringData.password] == 'x'", secret, "the error is not shown because it quotes one of the Secret's values"},
		{"a value used as a regexp", "object.stringData.password.matches(object.stringData.password)", secret, "the error is not shown"},
		{"a data value (base64) used as a key", "object.stringData[object.data.token] == 'x'", secret, "the error is not shown"},
		{"an error that quotes no value is kept", "int(object.stringData.password) > 0", secret, "type conversion error from 'string' to 'int'"},
		{"not a Secret: kept", "object.data[object.data.password] == 'x'", cm, "no such key: " + value},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, rules := compileOne(t, "        - name: r\n          expr: \""+strings.ReplaceAll(tt.expr, `"`, `\"`)+"\"\n")
			res := Evaluate(t.Context(), Input{Env: env, Rules: rules, HeadSHA: head, Objects: []*unstructured.Unstructured{tt.obj}}, &fakeDir{})
			it := res.Items[len(res.Items)-1]
			if len(it.Violations) != 1 || !strings.Contains(it.Violations[0].Message, tt.want) {
				t.Fatalf("violations %+v: want one containing %q", it.Violations, tt.want)
			}
			if isSecret(tt.obj) && (strings.Contains(it.Violations[0].Message, value) || strings.Contains(it.Violations[0].Message, "czNjcjN0LXQwa2Vu")) {
				t.Errorf("violation %q quotes a Secret value", it.Violations[0].Message)
			}
		})
	}
}

// Thousands of objects that each run a rule to its cost limit cannot keep
// Evaluate busy for long: once the budget is spent the rest fail.
func TestEvaluationBudget(t *testing.T) {
	defer func(b uint64) { evaluationBudget = b }(evaluationBudget)
	evaluationBudget = RuleCostLimit * 3 / 2
	var many []any
	for i := range 3000 {
		many = append(many, fmt.Sprint(i))
	}
	var objects []*unstructured.Unstructured
	for i := range 5 {
		objects = append(objects, object("ConfigMap", "shop", fmt.Sprint("big-", i), map[string]any{"items": many}))
	}
	env, rules := compileOne(t, "        - name: distinct\n          expr: object.spec.items.all(x, object.spec.items.exists_one(y, x == y))\n")
	it := itemNamed(t, Evaluate(t.Context(), Input{Env: env, Rules: rules, Objects: objects}, &fakeDir{}), "distinct")
	var got []string
	for _, v := range it.Violations {
		got = append(got, v.Message)
	}
	if len(got) != 5 || !strings.Contains(got[1], "cost limit exceeded") || got[2] != budgetSpent || got[4] != budgetSpent {
		t.Errorf("violations:\n%s", strings.Join(got, "\n"))
	}
}
