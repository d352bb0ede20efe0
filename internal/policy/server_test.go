package policy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// The server config's min_approvals is a floor the repository cannot lower,
// and the check says when it is the server's number that counts.
func TestApprovalsServerFloor(t *testing.T) {
	tests := []struct {
		name       string
		repo, min  int
		reviews    []Review
		wantMet    bool
		wantServer bool
		want       []string
	}{
		{name: "floor above a repository asking none", repo: 0, min: 1,
			want: []string{"needs 1 approving review", "the server config requires at least 1 for this repository (its config asks 0)"}, wantServer: true},
		{name: "floor met", repo: 0, min: 1, reviews: []Review{approved("dave", head)},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: dave", "server config requires at least 1"}, wantServer: true},
		{name: "floor of 2 over a repository asking 1", repo: 1, min: 2, reviews: []Review{approved("dave", head)},
			want: []string{"1 of 2 approvals", "(its config asks 1)"}, wantServer: true},
		{name: "repository asking more than the floor", repo: 2, min: 1, reviews: []Review{approved("dave", head)},
			want: []string{"1 of 2 approvals"}},
		{name: "no floor", repo: 0, min: 0, wantMet: true, want: []string{"no approvals required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &repoconfig.Environment{Name: "production", Policy: repoconfig.Policy{Approvals: tt.repo}}
			dir := fakeDir{perms: map[string]string{"dave": "write"}}
			in := Input{Env: env, Author: "rita", Pushers: []string{"rita"}, HeadSHA: head, Reviews: tt.reviews, Plan: planned, MinApprovals: tt.min}
			res := Evaluate(t.Context(), in, &dir)
			it := itemNamed(t, res, "approvals")
			if it.Met != tt.wantMet || it.Server != tt.wantServer {
				t.Errorf("met %v server %v, want %v %v (%s)", it.Met, it.Server, tt.wantMet, tt.wantServer, it.Reason)
			}
			containsAll(t, "reason", it.Reason, tt.want)
			if !tt.wantServer && strings.Contains(it.Reason, "server") {
				t.Errorf("reason %q mentions the server, whose floor does not count here", it.Reason)
			}
			if got := it.Label() == "approvals (server floor)"; got != tt.wantServer {
				t.Errorf("label %q marks the server floor: %v, want %v", it.Label(), got, tt.wantServer)
			}
		})
	}
}

// A server rule is checked like the repository's own and marked as the
// server's in the check; one that does not compile is refused.
func TestServerRules(t *testing.T) {
	rule, err := CompileServerRule(repoconfig.Rule{Name: "no-latest", Expr: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))", Match: repoconfig.Match{Kinds: []string{"Deployment"}}})
	if err != nil {
		t.Fatal(err)
	}
	env, own := compileOne(t, "        - name: named\n          expr: \"has(object.metadata.name)\"\n")
	res := Evaluate(t.Context(), Input{Env: env, HeadSHA: head, Rules: append([]CompiledRule{rule}, own...),
		Objects: []*unstructured.Unstructured{deployment("shop", "web", "nginx:latest")}}, &fakeDir{})
	server := itemNamed(t, res, "no-latest")
	if server.Met || !server.Server || len(server.Violations) != 1 {
		t.Errorf("server rule item %+v", server)
	}
	if it := itemNamed(t, res, "named"); !it.Met || it.Server {
		t.Errorf("repository rule item %+v", it)
	}
	if got := server.Label(); got != "rule no-latest (server)" {
		t.Errorf("server rule labelled %q", got)
	}
	if got := itemNamed(t, res, "named").Label(); got != "rule named" {
		t.Errorf("repository rule labelled %q", got)
	}
	for expr, want := range map[string]string{
		"":              "is required",
		"object.spec +": "Syntax error",
		"'text'":        "must give true or false",
	} {
		if _, err := CompileServerRule(repoconfig.Rule{Name: "r", Expr: expr}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CompileServerRule(%q) = %v, want %q", expr, err, want)
		}
	}
}
