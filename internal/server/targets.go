package server

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/slipwayhq/slipway/internal/cluster"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// clusterTargets connects to each configured cluster once per identity (its
// own, or a service account an environment names), and lets a repository
// use only the clusters whose repos list matches it.
type clusterTargets struct {
	cfg   *config.Config
	cache *workflow.TargetCache
}

func newClusterTargets(cfg *config.Config) *clusterTargets {
	// One mask key for every cluster and identity, and every replica: a
	// digest recomputed anywhere must match the one reviewed.
	opts := plan.Options{MaskKey: cfg.MaskKey()}
	return &clusterTargets{cfg: cfg, cache: workflow.NewTargetCache(func(_ context.Context, key workflow.TargetKey) (workflow.Target, error) {
		rc, err := cluster.FromServerConfig(cfg, key.Cluster)
		if err != nil {
			return nil, err
		}
		if !key.ServiceAccount.IsZero() {
			rc = cluster.Impersonating(rc, key.ServiceAccount.User())
		}
		return workflow.NewClusterTarget(rc, opts)
	})}
}

// forRepo is the Targets a repository's environments may use.
func (c *clusterTargets) forRepo(repo string) workflow.Targets {
	return repoTargets{c: c, repo: repo}
}

type repoTargets struct {
	c    *clusterTargets
	repo string
}

func (r repoTargets) Target(ctx context.Context, key workflow.TargetKey) (workflow.Target, error) {
	for _, cl := range r.c.cfg.Clusters {
		if cl.Name != key.Cluster {
			continue
		}
		if !allowed(cl.Repos, r.repo) {
			if len(cl.Repos) == 0 {
				return nil, fmt.Errorf("%s may not deploy to cluster %q: its repos list in the server config is empty", r.repo, key.Cluster)
			}
			return nil, fmt.Errorf("%s may not deploy to cluster %q: the server config lists only %s for it", r.repo, key.Cluster, strings.Join(cl.Repos, ", "))
		}
		return r.c.cache.Target(ctx, key)
	}
	return nil, fmt.Errorf("no cluster %q in the server config", key.Cluster)
}

// allowed matches owner/repo against patterns like acme/* (case-insensitive,
// as GitHub names are).
func allowed(patterns []string, repo string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(repo)); ok {
			return true
		}
	}
	return false
}
