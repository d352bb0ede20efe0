package kube

import (
	"context"
	"fmt"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Clusters connects to each configured cluster once per identity (its
// own, or a service account), and lets a repository use only the clusters
// whose repos entries name it, within what its entry allows.
type Clusters struct {
	bounds *Bounds
	cache  *TargetCache
}

// NewClusters serves the clusters of the server config cfg within bounds.
func NewClusters(cfg *config.Config, bounds *Bounds) *Clusters {
	// One mask key for every cluster and identity, and every replica: a
	// digest recomputed anywhere must match the one reviewed.
	opts := plan.Options{MaskKey: cfg.MaskKey()}
	return &Clusters{bounds: bounds, cache: NewTargetCache(Connected(ServerClusters(cfg), opts))}
}

// ForRepo is the Targets a repository's environments may use.
func (c *Clusters) ForRepo(repo string) Targets {
	return repoTargets{c: c, repo: repo}
}

type repoTargets struct {
	c    *Clusters
	repo string
}

// Resolve implements Targets: env's namespace and service account
// must be the repository's to use on env's cluster; an environment that
// names no service account gets the server config's default.
func (r repoTargets) Resolve(env *repoconfig.Environment) (Resolved, error) {
	g, err := r.c.bounds.For(env.Cluster, r.repo)
	if err != nil {
		return Resolved{}, err
	}
	sa, err := g.Environment(env)
	if err != nil {
		return Resolved{}, err
	}
	return Resolved{
		Key:          TargetKey{Cluster: env.Cluster, ServiceAccount: sa},
		MinApprovals: g.MinApprovals,
		Rules:        g.Rules,
	}, nil
}

// Target implements Targets. The identity is checked again, so a
// key that did not come from Resolve cannot get past the server config;
// the target is confined to the repository's namespaces and kinds.
func (r repoTargets) Target(ctx context.Context, key TargetKey) (Target, error) {
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
	c, ok := t.(Confinable)
	if !ok {
		return nil, fmt.Errorf("cluster %q: its target cannot be confined to what the server config allows %s", key.Cluster, r.repo)
	}
	return c.Confined(func(ref plan.Ref) error {
		return g.Object(ref.Group, ref.Kind, ref.Namespace, ref.Name)
	}), nil
}
