package kube

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/reconciler"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Target is a cluster an environment can be planned against.
type Target interface {
	Scope() render.Scoper
	// Compute plans environment env of repository basis.Repository
	// (owner/name): the repository decides whose inventory the plan reads.
	Compute(ctx context.Context, env *repoconfig.Environment, basis plan.Basis, rendered *render.Result) (*plan.Plan, error)
}

// Capable is a Target that knows its cluster's capabilities (version, API
// versions) for Helm's .Capabilities. A Target that is not renders charts
// with Helm's defaults.
type Capable interface {
	Capabilities(ctx context.Context) (*render.Capabilities, error)
}

// TargetKey is a cluster and who slipway is on it: itself, or the service
// account it impersonates (the environment's, or the server config's
// default for the repository).
type TargetKey struct {
	Cluster        string
	ServiceAccount repoconfig.ServiceAccount // zero: slipway's own identity
}

// Targets resolves an environment's cluster and identity, within what the
// server config allows the repository.
type Targets interface {
	// Resolve says where and as whom env is planned and applied, and what
	// the server config requires of it beyond its own policy; the error
	// says why the server config does not allow env.
	Resolve(env *repoconfig.Environment) (Resolved, error)
	// Target is the cluster behind key, confined to the namespaces and
	// kinds the repository may use there.
	Target(ctx context.Context, key TargetKey) (Target, error)
}

// Resolved is an environment as the server config allows it.
type Resolved struct {
	Key TargetKey
	// MinApprovals is a floor under the environment's policy.approvals.
	MinApprovals int
	// Rules are checked beside the environment's own (marked Server).
	Rules []policy.CompiledRule
}

// Applier is a Target that can also apply: it plans with the objects it
// would send, and sends exactly those.
type Applier interface {
	Target
	ComputeWithObjects(ctx context.Context, env *repoconfig.Environment, basis plan.Basis, rendered *render.Result) (*plan.Plan, []*unstructured.Unstructured, error)
	Apply(ctx context.Context, env *repoconfig.Environment, p *plan.Plan, objects []*unstructured.Unstructured) *apply.Result
}

// ClusterTarget is a live cluster: its discovery decides namespaces, its
// API server answers dry-runs, and it applies (it is an Applier).
type ClusterTarget struct {
	*plan.Engine
	scope render.Scoper
	caps  *Capabilities
}

// NewClusterTarget connects to the cluster behind cfg.
func NewClusterTarget(cfg *rest.Config, opts plan.Options) (*ClusterTarget, error) {
	return NewClusterTargetWith(cfg, opts, nil)
}

// NewClusterTargetWith is NewClusterTarget with the cluster's capabilities
// shared by its targets (one per identity); nil discovers them with cfg
// for this target alone.
func NewClusterTargetWith(cfg *rest.Config, opts plan.Options, caps *Capabilities) (*ClusterTarget, error) {
	engine, err := plan.NewEngine(cfg, opts)
	if err != nil {
		return nil, err
	}
	scope, err := render.NewScoper(cfg)
	if err != nil {
		return nil, err
	}
	if caps == nil {
		if caps, err = NewCapabilities(cfg); err != nil {
			return nil, err
		}
	}
	return &ClusterTarget{Engine: engine, scope: scope, caps: caps}, nil
}

var _ Applier = (*ClusterTarget)(nil)

// Confinable is a Target that can be confined to what admit allows.
type Confinable interface {
	Confined(admit plan.Admit) Target
}

// Confined is t planning and applying only what admit allows (see
// plan.Engine.Confined), sharing t's connection and discovery.
func (t *ClusterTarget) Confined(admit plan.Admit) Target {
	return &ClusterTarget{Engine: t.Engine.Confined(admit), scope: t.scope, caps: t.caps}
}

// Reconciling is a Target that reaches the reconcilers (Flux, Argo CD)
// applying environments in slipway's stead on its cluster, as the identity
// the target was resolved for.
type Reconciling interface {
	// ReconciledBy is the target planning as a reconciler that applies
	// with marks (plan.Engine.ReconciledBy).
	ReconciledBy(marks plan.Marks) Target
	// Reconciler is env's reconciler, deploying repository repo.
	Reconciler(env *repoconfig.Environment, repo string) (reconciler.Reconciler, error)
}

var _ Reconciling = (*ClusterTarget)(nil)

// ReconciledBy implements Reconciling.
func (t *ClusterTarget) ReconciledBy(marks plan.Marks) Target {
	return &ClusterTarget{Engine: t.Engine.ReconciledBy(marks), scope: t.scope, caps: t.caps}
}

// Reconciler implements Reconciling: env's reconciler, read and patched as
// this target's identity.
func (t *ClusterTarget) Reconciler(env *repoconfig.Environment, repo string) (reconciler.Reconciler, error) {
	return reconciler.New(t.Engine.Client(), env, repo)
}

// Scope implements Target.
func (t *ClusterTarget) Scope() render.Scoper { return t.scope }

// Capabilities implements Capable.
func (t *ClusterTarget) Capabilities(ctx context.Context) (*render.Capabilities, error) {
	return t.caps.Get(ctx)
}

// Apply implements Applier: it applies p, which this target's engine
// computed, sending objects. An apply that sent a CRD makes the cluster's
// capabilities be discovered again, so the next render sees its kinds.
func (t *ClusterTarget) Apply(ctx context.Context, env *repoconfig.Environment, p *plan.Plan, objects []*unstructured.Unstructured) *apply.Result {
	res := apply.Run(ctx, t.Engine, env, p, objects)
	if sentCRD(res) {
		t.caps.Forget()
	}
	return res
}

// sentCRD reports whether an apply created or changed a CRD.
func sentCRD(res *apply.Result) bool {
	for _, o := range res.Objects {
		if o.Ref.Kind == "CustomResourceDefinition" && o.Ref.Group == "apiextensions.k8s.io" && (o.Outcome == apply.Created || o.Outcome == apply.Configured) {
			return true
		}
	}
	return false
}

// Connect turns a cluster's name into its client configuration.
type Connect func(cluster string) (*rest.Config, error)

// ServerClusters connects to the clusters the server config cfg names.
func ServerClusters(cfg *config.Config) Connect {
	return func(name string) (*rest.Config, error) { return FromServerConfig(cfg, name) }
}

// KubeconfigContexts connects through the kubeconfig at path (empty:
// kubectl's rules): to context for every cluster when it is given, else to
// the context named like the cluster.
func KubeconfigContexts(path, context string) Connect {
	return func(name string) (*rest.Config, error) {
		if context != "" {
			return FromKubeconfig(path, context)
		}
		return FromKubeconfig(path, name)
	}
}

// Connected resolves a key to a live ClusterTarget: connect's cluster, as
// the key's service account when it names one, so a plan shows what the
// environment's account may do and not what slipway's own identity may.
//
// The cluster's capabilities (Helm's .Capabilities) are discovered with
// connect's own identity and shared by every identity's target: discovery
// says the same to all of them. Every identity's target on one cluster
// also shares one request budget (see plan.Budget), unless opts brings its
// own.
func Connected(connect Connect, opts plan.Options) func(context.Context, TargetKey) (Target, error) {
	var (
		mu      sync.Mutex
		caps    = map[string]*Capabilities{}
		budgets = map[string]*plan.Budget{}
	)
	capabilitiesOf := func(cluster string, rc *rest.Config) (*Capabilities, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := caps[cluster]; ok {
			return c, nil
		}
		c, err := NewCapabilities(rc)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", cluster, err)
		}
		caps[cluster] = c
		return c, nil
	}
	budgetOf := func(cluster string) *plan.Budget {
		mu.Lock()
		defer mu.Unlock()
		if budgets[cluster] == nil {
			budgets[cluster] = plan.NewBudget(opts.Concurrency)
		}
		return budgets[cluster]
	}
	return func(_ context.Context, key TargetKey) (Target, error) {
		rc, err := connect(key.Cluster)
		if err != nil {
			return nil, err
		}
		c, err := capabilitiesOf(key.Cluster, rc)
		if err != nil {
			return nil, err
		}
		if !key.ServiceAccount.IsZero() {
			rc = Impersonating(rc, key.ServiceAccount.User())
		}
		o := opts
		if o.Budget == nil {
			o.Budget = budgetOf(key.Cluster)
		}
		return NewClusterTargetWith(rc, o, c)
	}
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
// credentials; the server bounds each repository (Clusters).
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
