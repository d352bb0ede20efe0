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

// Confinable is a Target that can be confined to what admit allows.
type Confinable interface {
	Confined(admit plan.Admit) Target
}

// Confined is t planning and applying only what admit allows (see
// plan.Engine.Confined), sharing t's connection and discovery.
func (t *ClusterTarget) Confined(admit plan.Admit) Target {
	return &ClusterTarget{Engine: t.Engine.Confined(admit), scope: t.scope}
}

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

// Resolve implements Targets without bounds: the cluster and the service
// account env names. The CLI plans this way, with the user's own
// credentials; the server bounds each repository (server/targets.go).
func (c *TargetCache) Resolve(env *repoconfig.Environment) (Resolved, error) {
	return Resolved{Key: TargetKey{Cluster: env.Cluster, ServiceAccount: env.ServiceAccountRef()}}, nil
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
