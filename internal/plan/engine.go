package plan

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sort"
	"sync"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Defaults for Options left zero.
const (
	DefaultConcurrency  = 32
	DefaultFieldManager = "slipway"
)

// Client-side rate limits the engine raises a config to. client-go's defaults
// (5 QPS, burst 10) would make a 1,000-object plan wait minutes on its own
// throttle; the apiserver's priority and fairness protects it instead.
const (
	minQPS   = 500
	minBurst = 1000
)

// ownerGroup prefixes the ownership labels ssa.ResourceManager can set.
const ownerGroup = "slipway.dev"

// Options tune an Engine.
type Options struct {
	// Concurrency is how many requests (dry-runs, reads) are in flight at
	// once; default DefaultConcurrency.
	Concurrency int
	// FieldManager is the server-side apply field manager slipway applies
	// as; default DefaultFieldManager. Plan and apply must use the same one.
	FieldManager string
	// InventoryNamespace holds every environment's inventory ConfigMap;
	// default the environment's namespace, or "default" if it has none.
	InventoryNamespace string
	// MaskKey keys the masks that stand for Secret values in plans and in
	// their digests. A server passes the same secret key to every engine on
	// every replica, so that any of them recomputes a reviewed digest; empty
	// means a random key for this engine alone (RandomMaskKey).
	MaskKey []byte
	// Budget bounds the requests in flight to the cluster, shared by every
	// engine built with it (one per cluster: see Budget); nil means a
	// budget of Concurrency for this engine alone.
	Budget *Budget
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.FieldManager == "" {
		o.FieldManager = DefaultFieldManager
	}
	if len(o.MaskKey) == 0 {
		o.MaskKey = RandomMaskKey()
	}
	if o.Budget == nil {
		o.Budget = NewBudget(o.Concurrency)
	}
	return o
}

// controller-runtime's client prints a stack trace to stderr unless a
// logger is set; slipway logs through zerolog and has nothing to hear from it.
var quietControllerRuntime sync.Once

// Engine plans (and holds what apply needs) for one cluster. It is safe for
// concurrent use; build one per cluster and keep it, since it caches the
// cluster's API discovery.
type Engine struct {
	opts    Options
	client  client.Client
	mapper  meta.RESTMapper
	manager *ssa.ResourceManager
	mask    masker
	// newHash makes the hash a plan's digest is fed to; tests replace it to
	// see what goes in.
	newHash func() hash.Hash
	admit   Admit  // nil admits everything
	marks   *Marks // set: a reconciler applies what this engine plans (reconciled.go)
}

// Admit refuses an object the plan may not touch at all (the server
// config's bounds on a repository), saying why; nil when it may.
type Admit func(ref Ref) error

// Confined is e planning only what admit allows: every object it refuses
// (rendered, or an inventory member to delete) is an Error change, and
// nothing about it is sent to the cluster, dry-run included; an
// inventory it refuses fails the whole plan. It shares e's connection and
// discovery.
func (e *Engine) Confined(admit Admit) *Engine {
	c := *e
	c.admit = admit
	return &c
}

// NewEngine connects an Engine to the cluster cfg points at. It makes no
// request: discovery happens lazily, once per API group.
func NewEngine(cfg *rest.Config, opts Options) (*Engine, error) {
	opts = opts.withDefaults()
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler, cfg.WarningHandlerWithContext = nil, warningCollector{}
	cfg.Wrap(opts.Budget.wrap)
	if cfg.RateLimiter == nil {
		cfg.QPS = max(cfg.QPS, minQPS)
		cfg.Burst = max(cfg.Burst, minBurst)
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("plan engine for %s: %w", cfg.Host, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("plan engine for %s: discovery: %w", cfg.Host, err)
	}
	quietControllerRuntime.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	c, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("plan engine for %s: %w", cfg.Host, err)
	}
	manager := ssa.NewResourceManager(c, polling.NewStatusPoller(c, mapper, polling.Options{}),
		ssa.Owner{Field: opts.FieldManager, Group: ownerGroup})
	manager.SetConcurrency(opts.Concurrency)
	return &Engine{opts: opts, client: c, mapper: mapper, manager: manager,
		mask: newMasker(opts.MaskKey), newHash: sha256.New}, nil
}

// ResourceManager is the fluxcd/pkg/ssa manager for this cluster, with the
// engine's field manager: apply uses it so that it sends what was planned
// the way it was planned.
func (e *Engine) ResourceManager() *ssa.ResourceManager { return e.manager }

// Client is the engine's client of its cluster, as the identity the engine
// was made for: the reconcilers of environments slipway does not apply are
// read and asked to reconcile through it.
func (e *Engine) Client() client.Client { return e.client }

// Budget bounds the engine's requests in flight, with every other engine
// built with the same one.
func (e *Engine) Budget() *Budget { return e.opts.Budget }

// FieldManager is the server-side apply field manager the engine plans as;
// apply must send as the same one.
func (e *Engine) FieldManager() string { return e.opts.FieldManager }

// Compute says what applying rendered (environment env of repository
// basis.Repository, owner/name, at basis.Commit) would change: every object
// that may have changed since slipway applied it is dry-run with
// server-side apply, so defaulting and admission take part (every object
// when env verifies all; fastpath.go says how the others are decided), and
// objects slipway applied for this repository's environment before that
// are no longer rendered are planned for deletion. Errors for single objects
// (a rejection, say) are Error changes; the returned error is for failures
// of the whole plan, such as an inventory another repository owns. The
// digest covers basis (see planDigest).
func (e *Engine) Compute(ctx context.Context, env *repoconfig.Environment, basis Basis, rendered *render.Result) (*Plan, error) {
	p, _, err := e.ComputeWithObjects(ctx, env, basis, rendered)
	return p, err
}

// ComputeWithObjects is Compute that also returns the objects exactly as
// slipway dry-ran them, in plan order: the rendered objects with the
// environment's namespace, ApplySet label and ignore list applied, for every
// change but errors and deletions. Apply sends these, so what is applied is
// what was reviewed.
func (e *Engine) ComputeWithObjects(ctx context.Context, env *repoconfig.Environment, basis Basis, rendered *render.Result) (*Plan, []*unstructured.Unstructured, error) {
	if rendered == nil {
		return nil, nil, errNoInput
	}
	return e.ComputeRendering(ctx, env, basis, func(context.Context) (*render.Result, error) { return rendered, nil })
}

var errNoInput = errors.New("plan: no environment or render given")

// compute plans rendered, with the inventory read and listed by pre.
func (e *Engine) compute(ctx context.Context, env *repoconfig.Environment, basis Basis, rendered *render.Result, pre *prefetched) (*Plan, []*unstructured.Unstructured, error) {
	parent, err := pre.readParent()
	if err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", env.Name, err)
	}
	pl := plannedBy(rendered.Objects)
	items := e.prepare(env, rendered.Objects, pl, parent.id)
	// A reconciler's environment (marks) is always dry-run: the fast path
	// knows slipway's own applies.
	settle := e.settler(items, e.marks == nil && !env.VerifiesAll())
	listed, err := pre.listed(settle)
	if err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", env.Name, err)
	}
	live, err := e.readRendered(ctx, items, listed, settle)
	if err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", env.Name, err)
	}
	candidates := make([]*item, 0, len(items))
	for _, it := range items {
		if !it.local {
			candidates = append(candidates, it)
		}
	}
	// Each candidate's entry (normalising, masking, printing its diff) is
	// made as its dry-run answers, while the others are still in flight,
	// rather than after the last.
	if err := e.parallel(ctx, len(candidates), func(ctx context.Context, i int) error {
		e.dryRun(ctx, candidates[i], live)
		candidates[i].makeEntry(e.mask, pl, parent)
		return ctx.Err()
	}); err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", env.Name, err)
	}
	entries, err := planEntries(e.mask, env, e.kept(env), parent, pl, items, listed)
	if err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", env.Name, err)
	}
	e.refuseDeletions(entries)
	// An environment without an inventory is installed, one with it upgraded.
	hooks, err := e.planHooks(rendered.Skipped, rendered.Objects, !parent.exists && parent.legacy == nil)
	if err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", env.Name, err)
	}
	if err := e.dryRunHooks(ctx, hooks); err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", env.Name, err)
	}
	if len(hooks.refused) > 0 {
		entries = append(entries, hooks.refused...)
		sort.SliceStable(entries, func(i, j int) bool { return refLess(entries[i].change.Ref, entries[j].change.Ref) })
	}
	skipped := hooks.skipped
	p := &Plan{Repository: basis.Repository, Environment: env.Name, Commit: basis.Commit, Rules: basis.RulesDigest(), Changes: make([]Change, len(entries)), Charts: rendered.Charts}
	var objects []*unstructured.Unstructured
	for i, en := range entries {
		p.Changes[i] = en.change
		if en.payload != nil {
			objects = append(objects, en.payload)
		}
	}
	for _, en := range skipped {
		p.Skipped = append(p.Skipped, en.change)
	}
	sent := map[objectKey]bool{} // a hook of both phases is sent once
	for _, h := range hooks.run {
		p.Hooks = append(p.Hooks, h.hook)
		if k := keyOf(h.payload); !sent[k] {
			sent[k] = true
			objects = append(objects, h.payload)
		}
	}
	if p.Digest, err = planDigest(e.newHash(), e.mask, env.Name, basis, entries, skipped, hooks.run); err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", env.Name, err)
	}
	return p, objects, nil
}

// parentFor reads the inventory parent of repository repo's environment
// env, refusing one the plan may not use; a reconciler's environment
// (marks) has none.
func (e *Engine) parentFor(ctx context.Context, repo string, env *repoconfig.Environment) (*parent, error) {
	if e.marks != nil {
		return &parent{}, nil
	}
	inv, err := e.inventoryOf(repo, env)
	if err != nil {
		return nil, err
	}
	if err := e.admitInventory(inv); err != nil {
		return nil, err
	}
	return e.readParents(ctx, inv)
}

// membersOf lists what the environment owns: the members of p (and of
// the legacy parent it adopts), each passed through settle as it arrives,
// or a reconciler's owned objects (marks).
func (e *Engine) membersOf(ctx context.Context, p *parent, settle func(*unstructured.Unstructured) *unstructured.Unstructured) (members, error) {
	if e.marks != nil {
		return e.readOwned(ctx, e.marks.Owned)
	}
	return e.listMembersSettled(ctx, settle, p, p.legacy)
}

// parallel runs fn for 0..n-1 with at most Concurrency in flight, stopping
// at the first error. A panic in fn is raised again in the caller's
// goroutine, where the job's recovery can report it.
func (e *Engine) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Concurrency)
	var caught recovery.Caught
	for i := range n {
		g.Go(func() error {
			defer caught.Recover()
			return fn(ctx, i)
		})
	}
	err := g.Wait()
	caught.Repanic()
	return err
}
