package workflow

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// ClusterTarget is a live cluster: its discovery decides namespaces, its
// API server answers dry-runs, and it applies (it is an Applier).
type ClusterTarget struct {
	*plan.Engine
	scope render.Scoper
}

// NewClusterTarget connects to the cluster behind cfg.
func NewClusterTarget(cfg *rest.Config, opts plan.Options) (*ClusterTarget, error) {
	engine, err := plan.NewEngine(cfg, opts)
	if err != nil {
		return nil, err
	}
	scope, err := render.NewScoper(cfg)
	if err != nil {
		return nil, err
	}
	return &ClusterTarget{Engine: engine, scope: scope}, nil
}

var _ Applier = (*ClusterTarget)(nil)

// Scope implements Target.
func (t *ClusterTarget) Scope() render.Scoper { return t.scope }

// Apply implements Applier: it applies p, which this target's engine
// computed, sending objects.
func (t *ClusterTarget) Apply(ctx context.Context, env *repoconfig.Environment, p *plan.Plan, objects []*unstructured.Unstructured) *apply.Result {
	return apply.Run(ctx, t.Engine, env, p, objects)
}

// TargetCache resolves each cluster and identity once, with resolve: a
// target holds a connection and discovery, worth keeping, and one per
// service account keeps each environment's requests under its own identity.
// A failed resolution is not kept: a cluster that was down or unreachable
// is tried again on the next use.
type TargetCache struct {
	resolve func(ctx context.Context, key TargetKey) (Target, error)
	mu      sync.Mutex
	done    map[TargetKey]Target
}

// NewTargetCache returns Targets that call resolve once per key, until it
// succeeds.
func NewTargetCache(resolve func(ctx context.Context, key TargetKey) (Target, error)) *TargetCache {
	return &TargetCache{resolve: resolve, done: map[TargetKey]Target{}}
}

// Target implements Targets.
func (c *TargetCache) Target(ctx context.Context, key TargetKey) (Target, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.done[key]; ok {
		return t, nil
	}
	t, err := c.resolve(ctx, key)
	if err != nil {
		return nil, err
	}
	c.done[key] = t
	return t, nil
}
