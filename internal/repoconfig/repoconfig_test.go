package repoconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
		check   func(t *testing.T, c *Config)
	}{
		{
			name: "defaults filled in",
			yaml: "version: 1\nenvironments:\n  - name: staging\n    path: deploy/staging\n    cluster: staging\n    helm: {}\n",
			check: func(t *testing.T, c *Config) {
				e, ok := c.Environment("staging")
				if !ok {
					t.Fatal("staging missing")
				}
				if e.Mode != ModeOnMerge || e.Drift != DriftReport || e.Lock != LockOnPlan || !e.AutoplanEnabled() || !e.PruneEnabled() || e.WaitTimeout() != DefaultWait || e.Helm.Release != "staging" {
					t.Errorf("defaults: %+v", e)
				}
			},
		},
		{
			name: "wait 0 disables, explicit values kept",
			yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    wait: 0\n    prune: false\n    autoplan: false\n    mode: before-merge\n",
			check: func(t *testing.T, c *Config) {
				e := c.Environments[0]
				if e.WaitTimeout() != 0 || e.PruneEnabled() || e.AutoplanEnabled() || e.Mode != ModeBeforeMerge {
					t.Errorf("%+v", e)
				}
			},
		},
		{name: "unknown key with line", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    prnue: true\n", wantErr: []string{`.slipway.yaml:6: environments[0].prnue: unknown key (did you mean "prune"?)`}},
		{name: "wrong type", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    policy:\n      approvals: two\n", wantErr: []string{`.slipway.yaml:7: environments[0].policy.approvals: expected an integer, got "two"`}},
		{name: "dangling depends_on", yaml: "version: 1\nenvironments:\n  - name: staging\n    path: a\n    cluster: c\n  - name: prod\n    path: b\n    cluster: c\n    depends_on: [stagign]\n", wantErr: []string{`.slipway.yaml:9: environments[1].depends_on[0]: no environment is named "stagign" (did you mean "staging"?)`}},
		{name: "cycle", yaml: "version: 1\nenvironments:\n  - {name: a, path: a, cluster: c, depends_on: [b]}\n  - {name: b, path: b, cluster: c, depends_on: [a]}\n", wantErr: []string{"depends_on forms a cycle: a → b → a"}},
		{name: "path escaping the repository", yaml: "version: 1\nenvironments:\n  - {name: a, path: ../other, cluster: c}\n", wantErr: []string{`environments[0].path: "../other" must be a path inside the repository`}},
		{name: "bad enums", yaml: "version: 1\nenvironments:\n  - {name: a, path: a, cluster: c, mode: yolo, drift: fix, policy: {require: [vibes]}}\n", wantErr: []string{
			`environments[0].mode: must be one of on-merge, before-merge; got "yolo"`,
			`environments[0].drift: must be one of`,
			`environments[0].policy.require[0]: must be one of mergeable, plan-current, checks-green`,
		}},
		{name: "misspelt requirement", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    policy:\n      require: [mergable]\n", wantErr: []string{`.slipway.yaml:7: environments[0].policy.require[0]: must be one of mergeable, plan-current, checks-green; got "mergable" (did you mean "mergeable"?)`}},
		{name: "negative approvals", yaml: "version: 1\nenvironments:\n  - {name: a, path: a, cluster: c, policy: {approvals: -1}}\n", wantErr: []string{"environments[0].policy.approvals: must not be negative"}},
		{name: "duplicate and invalid names", yaml: "version: 1\nenvironments:\n  - {name: a, path: a, cluster: c}\n  - {name: a, path: b, cluster: c}\n  - {name: Prod_1, path: b, cluster: c}\n", wantErr: []string{
			`environments[1].name: environment "a" is already defined`,
			`environments[2].name: "Prod_1" must be lower-case`,
		}},
		{name: "missing required keys", yaml: "version: 1\nenvironments:\n  - {name: a}\n", wantErr: []string{"environments[0].path: is required", "environments[0].cluster: is required"}},
		{name: "version", yaml: "version: 2\nenvironments:\n  - {name: a, path: a, cluster: c}\n", wantErr: []string{".slipway.yaml:1: version: must be 1"}},
		{name: "ignore needs pointers", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    ignore:\n      - kind: Deployment\n        paths: [spec.replicas]\n", wantErr: []string{`environments[0].ignore[0].paths[0]: "spec.replicas" must be a JSON pointer`}},
		{
			name: "service_account NAME is in the environment's namespace, NAMESPACE/NAME anywhere",
			yaml: "version: 1\nenvironments:\n  - {name: a, path: a, cluster: c, namespace: shop-a, service_account: deployer}\n  - {name: b, path: b, cluster: c, service_account: ops/deployer.b}\n  - {name: c, path: c, cluster: c}\n",
			check: func(t *testing.T, c *Config) {
				want := map[string]string{"a": "system:serviceaccount:shop-a:deployer", "b": "system:serviceaccount:ops:deployer.b", "c": ""}
				for name, user := range want {
					e, _ := c.Environment(name)
					sa := e.ServiceAccountRef()
					if got := map[bool]string{true: "", false: sa.User()}[sa.IsZero()]; got != user {
						t.Errorf("%s: impersonates %q, want %q", name, got, user)
					}
				}
			},
		},
		{name: "service_account without a namespace", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    service_account: deployer\n", wantErr: []string{`.slipway.yaml:6: environments[0].service_account: "deployer" names no namespace and the environment sets none: write NAMESPACE/deployer or set namespace`}},
		{name: "service_account with two slashes", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    service_account: a/b/c\n", wantErr: []string{`.slipway.yaml:6: environments[0].service_account: "a/b/c" must be NAME`}},
		{name: "service_account with a bad name", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    namespace: ns\n    service_account: Deployer_1\n", wantErr: []string{`.slipway.yaml:7: environments[0].service_account: "Deployer_1" is not a valid service account name`}},
		{name: "service_account with a bad namespace", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    service_account: Ops/deployer\n", wantErr: []string{`.slipway.yaml:6: environments[0].service_account: namespace "Ops" of "Ops/deployer" is not a valid namespace name`}},
		{name: "service_account with an empty part", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    service_account: ops/\n", wantErr: []string{`environments[0].service_account: "" is not a valid service account name`}},
		{
			name: "plan verify all, and the default",
			yaml: "version: 1\nenvironments:\n  - {name: a, path: a, cluster: c, plan: {verify: all}}\n  - {name: b, path: b, cluster: c}\n",
			check: func(t *testing.T, c *Config) {
				a, _ := c.Environment("a")
				b, _ := c.Environment("b")
				if !a.VerifiesAll() || b.VerifiesAll() {
					t.Errorf("verify all: a %v, b %v; want true, false", a.VerifiesAll(), b.VerifiesAll())
				}
			},
		},
		{name: "bad plan verify", yaml: "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    plan:\n      verify: everything\n", wantErr: []string{`.slipway.yaml:7: environments[0].plan.verify: must be one of changed, all; got "everything"`}},
		{name: "bad wait", yaml: "version: 1\nenvironments:\n  - {name: a, path: a, cluster: c, wait: soon}\n", wantErr: []string{"environments[0].wait", "expected a duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(FileName, []byte(tt.yaml))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error: %+v", c)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error\n%s\ndoes not contain\n%s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestOrder(t *testing.T) {
	c, err := Parse(FileName, []byte("version: 1\nenvironments:\n"+
		"  - {name: prod, path: p, cluster: c, depends_on: [staging]}\n"+
		"  - {name: staging, path: s, cluster: c, depends_on: [dev]}\n"+
		"  - {name: dev, path: d, cluster: c}\n"+
		"  - {name: other, path: o, cluster: c}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want []string
	}{
		{[]string{"prod", "staging", "dev", "other"}, []string{"dev", "staging", "prod", "other"}},
		{[]string{"prod", "dev"}, []string{"dev", "prod"}},
		{[]string{"other"}, []string{"other"}},
	}
	for _, tt := range tests {
		if got := c.Order(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Order(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// Every example .slipway.yaml under config/ is documentation: it must parse.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob("../../config/examples/*.slipway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples found under config/examples")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(f, data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(c.Environments) == 0 {
			t.Errorf("%s: no environments", f)
		}
	}
}
