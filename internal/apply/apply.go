// Package apply makes an environment's cluster match a reviewed plan: it
// sends exactly the objects the plan dry-ran, Namespaces and CRDs first,
// prunes what the plan deletes, keeps the environment's ApplySet inventory in
// step, and waits for the result to become healthy. It uses the plan
// engine's client and field manager, and fluxcd/pkg/ssa for the stages and
// order, the deletions and the kstatus waits.
package apply

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Timings of a run.
const (
	// stageWait bounds how long CRDs, Namespaces and ClusterRoles get to
	// become ready before the objects that need them are applied, and
	// stagePollInterval is how often kstatus looks meanwhile: a CRD is
	// usually established within a second.
	stageWait         = time.Minute
	stagePollInterval = 500 * time.Millisecond
	// pollInterval is how often kstatus polls during the health wait.
	pollInterval = 2 * time.Second
	// concurrency bounds apply's requests in flight, as it bounds the
	// plan's dry-runs.
	concurrency = plan.DefaultConcurrency
)

// Run applies p, the plan e computed for env, sending objects (what
// plan.Engine.ComputeWithObjects returned with p) and nothing else. The
// steps follow the ApplySet specification:
//
//  1. record the inventory as the union of the old members (the plan's
//     deletions and kept objects) and the objects, so that an interrupted
//     apply never leaves a member outside the recorded group-kinds (when
//     the plan creates the inventory's namespace, that Namespace is
//     applied first);
//  2. apply the objects the plan creates or updates, in ssa's stages and
//     order (Namespaces, CRDs and ClusterRoles first, waiting for them to
//     be ready; see applyStaged for why not through ApplyAllStaged itself);
//  3. when env prunes, delete the plan's deletions, except objects annotated
//     slipway.dev/prune: disabled since the plan was made (ssa's exclusions);
//  4. record the inventory as the objects plus the members left in place
//     (kept ones and failed deletions), so they stay tracked: a kept
//     object keeps its ApplySet label, and dropping it from the inventory
//     would orphan it rather than release it;
//  5. when the environment's legacy inventory (slipway-<env>) was being
//     adopted and everything so far succeeded, remove it (see migrate.go);
//  6. when env.WaitTimeout() > 0, wait with kstatus for every applied
//     object to become ready.
//
// The plan's Helm hooks run around these steps, as helm install and
// upgrade run them: its pre hooks before step 1 (once the inventory's
// namespace exists), its post hooks after step 6, once everything else
// is applied and healthy (see hooks.go). A hook that fails stops the run.
//
// A step that fails stops the run (a failed deletion does not: the rest are
// still deleted, the inventory still written, health still awaited). Run
// never panics and always returns a Result saying what reached the cluster;
// when ctx ends it returns what was done until then.
func Run(ctx context.Context, e *plan.Engine, env *repoconfig.Environment, p *plan.Plan, objects []*unstructured.Unstructured) *Result {
	res := &Result{}
	if p != nil {
		res.Env, res.Commit, res.Digest = p.Environment, p.Commit, p.Digest
	}
	if e == nil || env == nil || p == nil {
		res.Err = "apply: no engine, environment or plan given"
		return res
	}
	r := newRun(e, env, p, objects, res)
	defer r.finish()
	if r.refused() {
		return res
	}
	r.execute(ctx)
	return res
}

// run is one Run in progress: the plan's objects, each with its slot in the
// Result.
type run struct {
	e            *plan.Engine
	m            *ssa.ResourceManager
	fieldManager string
	env          *repoconfig.Environment
	p            *plan.Plan
	res          *Result

	index    map[key]int                  // object identity → slot in res.Objects
	planned  []plan.Change                // the plan's change per slot
	payload  []*unstructured.Unstructured // what to send per slot; nil for deletions, kept and errors
	mismatch string                       // objects do not match the plan: refuse
	// hookPayload is what to send for each of the plan's hooks, by
	// identity (a hook of both phases is sent by each).
	hookPayload map[key]*unstructured.Unstructured

	// stopped says why objects still not applied at the end were not,
	// for their message.
	stopped string
}

// key identifies an object across API versions.
type key struct{ group, kind, namespace, name string }

func keyOfRef(r plan.Ref) key { return key{r.Group, r.Kind, r.Namespace, r.Name} }

func keyOf(u *unstructured.Unstructured) key {
	gvk := u.GroupVersionKind()
	return key{gvk.Group, gvk.Kind, u.GetNamespace(), u.GetName()}
}

func newRun(e *plan.Engine, env *repoconfig.Environment, p *plan.Plan, objects []*unstructured.Unstructured, res *Result) *run {
	r := &run{e: e, m: e.ResourceManager(), fieldManager: e.FieldManager(), env: env, p: p, res: res,
		index:       make(map[key]int, len(p.Changes)),
		planned:     make([]plan.Change, len(p.Changes)),
		payload:     make([]*unstructured.Unstructured, len(p.Changes)),
		hookPayload: make(map[key]*unstructured.Unstructured, len(p.Hooks)),
	}
	res.Objects = make([]ObjectResult, len(p.Changes))
	res.Hooks = make([]HookResult, len(p.Hooks))
	for i, h := range p.Hooks {
		res.Hooks[i] = HookResult{ObjectResult: ObjectResult{Ref: h.Ref, Outcome: NotApplied}, Event: h.Event}
	}
	for i, ch := range p.Changes {
		r.planned[i] = ch
		r.index[keyOfRef(ch.Ref)] = i
		res.Objects[i] = ObjectResult{Ref: ch.Ref, Outcome: NotApplied}
		if ch.Kept {
			res.Objects[i] = ObjectResult{Ref: ch.Ref, Outcome: Kept, Message: ch.Message}
		}
	}
	for _, u := range objects {
		if u == nil {
			continue
		}
		i, ok := r.index[keyOf(u)]
		if ok && carries(r.planned[i]) && r.payload[i] == nil {
			r.payload[i] = u
			continue
		}
		if !r.takeHook(u) {
			r.mismatch = fmt.Sprintf("%s is not an object of the plan to apply", refOf(u))
		}
	}
	for _, h := range p.Hooks {
		if r.hookPayload[keyOfRef(h.Ref)] == nil && r.mismatch == "" {
			r.mismatch = fmt.Sprintf("the plan's %s hook %s is missing from the objects to apply", h.Event, h.Ref)
		}
	}
	for i, ch := range r.planned {
		if carries(ch) && r.payload[i] == nil && r.mismatch == "" {
			r.mismatch = fmt.Sprintf("the plan's %s is missing from the objects to apply", ch.Ref)
		}
	}
	return r
}

// carries reports whether ch comes with an object to apply:
// ComputeWithObjects returns one for every change but errors, deletions and
// kept members (apply skips those the plan finds unchanged).
func carries(ch plan.Change) bool {
	return !ch.Kept && (ch.Action == plan.Create || ch.Action == plan.Update || ch.Action == plan.Unchanged)
}

// refused checks that the plan may be applied at all; a plan with errors
// is applied not at all rather than in part.
func (r *run) refused() bool {
	errs := 0
	first := ""
	for i, ch := range r.planned {
		if ch.Action == plan.Error {
			r.set(i, Failed, ch.Message)
			if errs++; first == "" {
				first = fmt.Sprintf("%s: %s", ch.Ref, ch.Message)
			}
		}
	}
	switch {
	case r.p.Err != "":
		r.fail("the plan failed, so nothing was applied: %s", r.p.Err)
	case r.p.Repository == "":
		r.fail("the plan names no repository, so nothing was applied: plan it with the repository whose inventory it records")
	case errs > 0:
		r.fail("the plan has %d %s, so nothing was applied; first %s", errs, plural(errs, "error", "errors"), first)
	case r.mismatch != "":
		r.fail("the objects do not match the plan, so nothing was applied: %s", r.mismatch)
	default:
		return false
	}
	r.stopped = "the plan cannot be applied"
	return true
}

func (r *run) execute(ctx context.Context) {
	if !r.inventoryNamespaceFirst(ctx) {
		return
	}
	// Hooks are no inventory members, so pre hooks may run before the
	// inventory is first written: a failed pre-install hook leaves none,
	// and the next apply installs again rather than upgrading.
	if !r.runHooks(ctx, plan.HookPre) {
		return
	}
	repo := r.p.Repository
	if err := r.e.WriteInventory(ctx, repo, r.env, r.refsWhere(func(int) bool { return true })); err != nil {
		r.stopAt(ctx, "recording the inventory failed", "record the inventory before applying: %v", err)
		return
	}
	if !r.applyStaged(ctx) {
		return
	}
	r.prune(ctx)
	if !r.adoptKept(ctx) {
		return
	}
	if err := r.e.WriteInventory(ctx, repo, r.env, r.refsWhere(r.tracked)); err != nil {
		r.stopAt(ctx, "recording the inventory failed", "record the inventory after applying: %v", err)
		return
	}
	r.retireLegacy(ctx)
	r.wait(ctx)
	if r.res.Err != "" {
		r.stopped = "the release's objects did not become healthy"
		return
	}
	r.runHooks(ctx, plan.HookPost)
}

// inventoryNamespaceFirst creates the namespace the inventory is recorded
// in when this plan is what creates it: the first apply of an environment
// that ships its own Namespace (slipway deploying deploy/, say) could not
// record its inventory otherwise. The Namespace is sent again in its stage,
// which changes nothing.
func (r *run) inventoryNamespaceFirst(ctx context.Context) bool {
	ns := r.e.InventoryNamespace(r.env)
	for i, ch := range r.planned {
		if ch.Action == plan.Create && ch.Ref.Group == "" && ch.Ref.Kind == "Namespace" && ch.Ref.Name == ns {
			return r.sendGroup(ctx, []int{i})
		}
	}
	return true
}

// tracked reports whether slot i stays in the inventory after the apply:
// everything but what was pruned.
func (r *run) tracked(i int) bool {
	return r.res.Objects[i].Outcome != Deleted
}

func (r *run) refsWhere(keep func(i int) bool) []plan.Ref {
	var refs []plan.Ref
	for i, ch := range r.planned {
		if ch.Action != plan.Error && keep(i) {
			refs = append(refs, ch.Ref)
		}
	}
	return refs
}

// set records slot i's outcome.
func (r *run) set(i int, o Outcome, msg string) {
	r.res.Objects[i].Outcome, r.res.Objects[i].Message = o, msg
}

// fail records the run's first failure.
func (r *run) fail(format string, args ...any) {
	if r.res.Err == "" {
		r.res.Err = fmt.Sprintf(format, args...)
	}
}

// stopAt ends the run: why is the note for objects not applied, and the
// formatted error the run's failure, unless ctx ended, which is then the
// reason given.
func (r *run) stopAt(ctx context.Context, why, format string, args ...any) {
	if ctx.Err() != nil {
		r.cancelled(ctx)
		return
	}
	r.stopped = why
	r.fail(format, args...)
}

// cancelled ends the run because ctx ended.
func (r *run) cancelled(ctx context.Context) {
	r.stopped = "the apply was cancelled first"
	r.fail("apply cancelled (%v): %s", ctx.Err(), r.doneSoFar())
}

// doneSoFar sums up what reached the cluster, for a cancelled run.
func (r *run) doneSoFar() string {
	c := r.res.Counts()
	if c[Created]+c[Configured]+c[Adopted]+c[Deleted] == 0 {
		return "nothing was changed"
	}
	done := fmt.Sprintf("done so far: %d created, %d configured, %d deleted", c[Created], c[Configured], c[Deleted])
	if c[Adopted] > 0 {
		done += fmt.Sprintf(", %d adopted", c[Adopted])
	}
	return done
}

// finish notes why objects were not applied, and masks Secret values in
// every message: the apiserver's (and an admission policy's) words may
// quote the object they reject.
func (r *run) finish() {
	var secrets []*unstructured.Unstructured
	for _, u := range r.payload {
		if u != nil {
			secrets = append(secrets, u)
		}
	}
	for _, u := range r.hookPayload {
		if u != nil {
			secrets = append(secrets, u)
		}
	}
	scrub := r.e.SecretScrubber(secrets)
	for i := range r.res.Objects {
		o := &r.res.Objects[i]
		if o.Outcome == NotApplied && o.Message == "" && r.stopped != "" {
			o.Message = "not applied: " + r.stopped
		}
		o.Message = scrub(o.Message)
	}
	for i := range r.res.Hooks {
		o := &r.res.Hooks[i].ObjectResult
		if o.Outcome == NotApplied && o.Message == "" && r.stopped != "" {
			o.Message = r.res.Hooks[i].Event + " hook: not run: " + r.stopped
		}
		o.Message = scrub(o.Message)
	}
	r.res.Err = scrub(r.res.Err)
}

func refOf(u *unstructured.Unstructured) plan.Ref {
	gvk := u.GroupVersionKind()
	return plan.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
