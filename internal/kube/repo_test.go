package kube

import (
	"context"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

type stubTarget struct{ Target }

func (s stubTarget) Confined(plan.Admit) Target { return s }

// clusters[].repos decides which repositories may use a cluster; nothing
// is connected to for a repository that may not.
func TestClusterReposAllowList(t *testing.T) {
	cfg := &config.Config{Clusters: []config.Cluster{
		{Name: "shared", Repos: config.AnyNamespace("acme/*", "partner/deploy")},
		{Name: "locked", Repos: nil},
		{Name: "upper", Repos: config.AnyNamespace("ACME/Shop")},
	}}
	tests := []struct {
		repo, cluster string
		want          string // "" when allowed
	}{
		{"acme/shop", "shared", ""},
		{"Acme/Shop", "shared", ""},
		{"partner/deploy", "shared", ""},
		{"partner/other", "shared", `partner/other may not deploy to cluster "shared": the server config lists only acme/*, partner/deploy for it`},
		{"acmecorp/shop", "shared", "may not deploy"},
		{"acme/shop/extra", "shared", "may not deploy"},
		{"acme/shop", "locked", `acme/shop may not deploy to cluster "locked": its repos list in the server config is empty`},
		{"acme/shop", "upper", ""},
		{"acme/shop", "nowhere", `no cluster "nowhere" in the server config`},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"→"+tt.cluster, func(t *testing.T) {
			resolved := 0
			bounds, err := NewBounds(cfg, "")
			if err != nil {
				t.Fatal(err)
			}
			ct := &Clusters{bounds: bounds, cache: NewTargetCache(func(context.Context, TargetKey) (Target, error) {
				resolved++
				return stubTarget{}, nil
			})}
			env := &repoconfig.Environment{Cluster: tt.cluster}
			targets := ct.ForRepo(tt.repo)
			r, err := targets.Resolve(env)
			if err == nil {
				_, err = targets.Target(context.Background(), r.Key)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			case tt.want != "" && resolved != 0:
				t.Error("connected to a cluster the repository may not use")
			}
		})
	}
}

// admitting is a target that keeps the admit it was confined with.
type admitting struct {
	Target
	admit plan.Admit
}

func (a admitting) Confined(admit plan.Admit) Target { return admitting{admit: admit} }

// An object-form entry bounds the service account (named or default) and
// confines the target to its namespaces; a key that did not come from
// Resolve is checked again before anything connects.
func TestRepoTargetsBounds(t *testing.T) {
	cfg := &config.Config{Clusters: []config.Cluster{{Name: "prod", Repos: []config.RepoEntry{
		{Repo: "acme/shop", Namespaces: []string{"shop"}, ServiceAccounts: []string{"shop/deployer"}, MinApprovals: 2},
	}}}}
	bounds, err := NewBounds(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	var connected []TargetKey
	ct := &Clusters{bounds: bounds, cache: NewTargetCache(func(_ context.Context, key TargetKey) (Target, error) {
		connected = append(connected, key)
		return admitting{}, nil
	})}
	targets := ct.ForRepo("acme/shop")

	r, err := targets.Resolve(&repoconfig.Environment{Name: "production", Cluster: "prod", Namespace: "shop"})
	if err != nil || r.Key.ServiceAccount.String() != "shop/deployer" || r.MinApprovals != 2 {
		t.Fatalf("Resolve = %+v, %v; want the default service account and the floor", r, err)
	}
	if _, err := targets.Resolve(&repoconfig.Environment{Name: "production", Cluster: "prod", Namespace: "shop", ServiceAccount: "kube-system/admin"}); err == nil ||
		!strings.Contains(err.Error(), "service account kube-system/admin is not allowed for acme/shop on cluster prod") {
		t.Errorf("kube-system service account: %v", err)
	}
	for _, sa := range []repoconfig.ServiceAccount{{Namespace: "kube-system", Name: "admin"}, {}} {
		if _, err := targets.Target(context.Background(), TargetKey{Cluster: "prod", ServiceAccount: sa}); err == nil {
			t.Errorf("Target as %q allowed", sa)
		}
	}
	if len(connected) > 0 {
		t.Fatalf("connected as %v for refused identities", connected)
	}
	tg, err := targets.Target(context.Background(), r.Key)
	if err != nil {
		t.Fatal(err)
	}
	admit := tg.(admitting).admit
	if admit == nil {
		t.Fatal("target not confined")
	}
	if err := admit(plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "x"}); err != nil {
		t.Errorf("own namespace refused: %v", err)
	}
	if err := admit(plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "kube-system", Name: "x"}); err == nil ||
		!strings.Contains(err.Error(), "namespace kube-system is not allowed for acme/shop on cluster prod (server config clusters[0].repos[0].namespaces: shop)") {
		t.Errorf("kube-system object: %v", err)
	}
}
