package server

import (
	"context"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/workflow"
)

type stubTarget struct{ workflow.Target }

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
			ct := &clusterTargets{cfg: cfg, cache: workflow.NewTargetCache(func(context.Context, workflow.TargetKey) (workflow.Target, error) {
				resolved++
				return stubTarget{}, nil
			})}
			env := &repoconfig.Environment{Cluster: tt.cluster}
			_, err := ct.forRepo(tt.repo).Target(context.Background(), workflow.TargetKeyOf(env))
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
