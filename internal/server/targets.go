package server

import (
	"context"
	"fmt"

	"github.com/slipwayhq/slipway/internal/allow"
	"github.com/slipwayhq/slipway/internal/cluster"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// clusterTargets connects to each configured cluster once per identity
// (its own, or a service account), and lets a repository use only the
// clusters whose repos entries name it, within what its entry allows.
type clusterTargets struct {
	bounds *allow.Bounds
	cache  *workflow.TargetCache
}

func newClusterTargets(cfg *config.Config, bounds *allow.Bounds) *clusterTargets {
	// One mask key for every cluster and identity, and every replica: a
	// digest recomputed anywhere must match the one reviewed.
	opts := plan.Options{MaskKey: cfg.MaskKey()}
	return &clusterTargets{bounds: bounds, cache: workflow.NewTargetCache(func(_ context.Context, key workflow.TargetKey) (workflow.Target, error) {
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

// Resolve implements workflow.Targets: env's namespace and service account
// must be the repository's to use on env's cluster; an environment that
// names no service account gets the server config's default.
func (r repoTargets) Resolve(env *repoconfig.Environment) (workflow.Resolved, error) {
	g, err := r.c.bounds.For(env.Cluster, r.repo)
	if err != nil {
		return workflow.Resolved{}, err
	}
	sa, err := g.Environment(env)
	if err != nil {
		return workflow.Resolved{}, err
	}
	return workflow.Resolved{
		Key:          workflow.TargetKey{Cluster: env.Cluster, ServiceAccount: sa},
		MinApprovals: g.MinApprovals,
		Rules:        g.Rules,
	}, nil
}

// Target implements workflow.Targets. The identity is checked again, so a
// key that did not come from Resolve cannot get past the server config;
// the target is confined to the repository's namespaces and kinds.
func (r repoTargets) Target(ctx context.Context, key workflow.TargetKey) (workflow.Target, error) {
	g, err := r.c.bounds.For(key.Cluster, r.repo)
	if err != nil {
		return nil, err
	}
	if err := g.Identity(key.ServiceAccount); err != nil {
		return nil, err
	}
	t, err := r.c.cache.Target(ctx, key)
	if err != nil {
		return nil, err
	}
	c, ok := t.(workflow.Confinable)
	if !ok {
		return nil, fmt.Errorf("cluster %q: its target cannot be confined to what the server config allows %s", key.Cluster, r.repo)
	}
	return c.Confined(func(ref plan.Ref) error {
		return g.Object(ref.Group, ref.Kind, ref.Namespace, ref.Name)
	}), nil
}
