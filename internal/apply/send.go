package apply

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/recovery"
)

// applyStaged sends the plan's objects and records each one's outcome. It
// reports whether every object was applied.
//
// The order is ssa's ApplyAllStaged's: cluster definitions (CRDs,
// Namespaces, ClusterRoles), waiting for them to be ready, then classes,
// waiting again, then everything else; within a stage, kinds in ssa's
// ReconcileOrder (ServiceAccounts and ConfigMaps before Deployments,
// webhook configurations last). The request is ssa's too: a server-side
// apply as the engine's field manager, forcing conflicts.
//
// What differs from calling ApplyAllStaged, and why:
//   - ApplyAll reads and dry-runs every object again before applying. The
//     plan has just done that dry-run, with the same payload, and its
//     digest was checked against the live resourceVersions, so apply sends
//     only the objects the plan creates or updates and skips the rest.
//   - ApplyAll applies one object at a time; objects of one kind rank are
//     sent here with the engine's concurrency. Creating 1,000 objects took
//     ApplyAllStaged 4.1s (1.1s of reads and dry-runs, 3s of one-by-one
//     applies) and takes this 1.0s, about the bare requests' time (see
//     internal/bench).
//   - ApplyAll reports nothing on a failure but an error string; here each
//     request's own answer decides its object's outcome, so the result
//     says exactly what reached the cluster.
//
// A refusal stops the stage: requests in flight finish and are reported,
// none is started after it, and later stages are not applied.
func (r *run) applyStaged(ctx context.Context) bool {
	for _, st := range r.stages() {
		for _, group := range st.groups {
			if !r.sendGroup(ctx, group) {
				return false
			}
		}
		if st.wait && !r.stageReady(ctx, st.slots) {
			return false
		}
	}
	return true
}

// stage is one of ApplyAllStaged's stages: its objects' slots, grouped by
// kind rank in order.
type stage struct {
	slots  []int
	groups [][]int
	wait   bool // the next stage needs this one ready
}

// Stages, decided as ssa's ApplyAllStaged decides them.
const (
	stageDefinitions = iota // CRDs, Namespaces, ClusterRoles
	stageClasses            // StorageClasses, IngressClasses, …
	stageRest
	stages
)

func stageOf(u *unstructured.Unstructured) int {
	switch {
	case utils.IsClusterDefinition(u):
		return stageDefinitions
	case utils.IsClassDefinition(u):
		return stageClasses
	}
	return stageRest
}

func (r *run) stages() []stage {
	var byStage [stages][]*unstructured.Unstructured
	for _, u := range r.payload {
		if u != nil {
			byStage[stageOf(u)] = append(byStage[stageOf(u)], u)
		}
	}
	var out []stage
	for s, objects := range byStage {
		if len(objects) == 0 {
			continue
		}
		sort.Sort(ssa.SortableUnstructureds(objects))
		st := stage{wait: s != stageRest}
		for n, u := range objects {
			i := r.index[keyOf(u)]
			st.slots = append(st.slots, i)
			if n == 0 || kindRank(u.GetKind()) != kindRank(objects[n-1].GetKind()) {
				st.groups = append(st.groups, nil)
			}
			st.groups[len(st.groups)-1] = append(st.groups[len(st.groups)-1], i)
		}
		out = append(out, st)
	}
	return out
}

// kindRank places a kind in ssa.ReconcileOrder: the First kinds in their
// order, then every other kind (rank 0), then the Last kinds.
func kindRank(kind string) int {
	for i, k := range ssa.ReconcileOrder.First {
		if k == kind {
			return i - len(ssa.ReconcileOrder.First)
		}
	}
	for i, k := range ssa.ReconcileOrder.Last {
		if k == kind {
			return i + 1
		}
	}
	return 0
}

// sendGroup applies the objects in slots the plan creates or updates (or
// adopts from a legacy inventory: sending them moves their ApplySet label),
// with the engine's concurrency, and marks those it leaves alone unchanged.
// It reports whether all were applied.
func (r *run) sendGroup(ctx context.Context, slots []int) bool {
	type refusal struct {
		slot int
		err  error
	}
	var (
		wg       sync.WaitGroup
		caught   recovery.Caught
		stop     atomic.Bool
		mu       sync.Mutex
		refusals []refusal
	)
	inFlight := make(chan struct{}, concurrency)
	for _, i := range slots {
		if stop.Load() || ctx.Err() != nil {
			break
		}
		action := r.planned[i].Action
		if action == plan.Unchanged && !r.planned[i].Adopted {
			r.set(i, Unchanged, "")
			continue
		}
		inFlight <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inFlight }()
			defer caught.Recover()
			err := r.send(ctx, i)
			if err != nil {
				stop.Store(true)
				mu.Lock()
				refusals = append(refusals, refusal{i, err})
				mu.Unlock()
				return
			}
			r.set(i, plannedOutcome(r.planned[i]), "") // each goroutine writes its own slot
		}()
	}
	wg.Wait()
	caught.Repanic()
	if len(refusals) == 0 {
		if ctx.Err() != nil {
			r.cancelled(ctx)
			return false
		}
		return true
	}
	sort.Slice(refusals, func(a, b int) bool { return refusals[a].slot < refusals[b].slot })
	var refused []int
	for _, f := range refusals {
		if ctx.Err() != nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
			r.set(f.slot, NotApplied, "not applied: the apply was cancelled while this object was being sent, so it may or may not have reached the cluster")
			continue
		}
		r.set(f.slot, Failed, f.err.Error())
		refused = append(refused, f.slot)
	}
	if len(refused) == 0 {
		r.cancelled(ctx)
		return false
	}
	first := r.planned[refused[0]].Ref
	more := ""
	if n := len(refused) - 1; n > 0 {
		more = fmt.Sprintf(" (and %d more %s refused)", n, plural(n, "object was", "objects were"))
	}
	r.stopAt(ctx, "the cluster refused "+first.String()+", and apply stops at the first refusal",
		"%s: %s%s", first, r.res.Objects[refused[0]].Message, more)
	return false
}

// A kind whose CRD this apply just established may not be in the API
// server's discovery yet: its objects are sent again for up to
// kindDiscoveryWait before "no matches for kind" counts as a refusal.
const (
	kindDiscoveryWait = 15 * time.Second
	kindDiscoveryPoll = 250 * time.Millisecond
)

// send applies the object in slot i.
func (r *run) send(ctx context.Context, i int) error {
	return r.sendObject(ctx, r.payload[i])
}

// sendObject applies u as the engine's field manager, forcing conflicts.
func (r *run) sendObject(ctx context.Context, u *unstructured.Unstructured) error {
	deadline := time.Now().Add(kindDiscoveryWait)
	for {
		obj := u.DeepCopy() // the response is decoded into it
		err := r.m.Client().Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
			client.ForceOwnership, client.FieldOwner(r.fieldManager))
		if !meta.IsNoMatchError(err) || time.Now().After(deadline) {
			return err
		}
		if err := backoff.Sleep(ctx, kindDiscoveryPoll); err != nil {
			return err
		}
	}
}

// plannedOutcome is what applying an object the plan creates, updates
// (or only labels: an adoption) or leaves did.
func plannedOutcome(ch plan.Change) Outcome {
	switch {
	case ch.Action == plan.Create:
		return Created
	case ch.Action == plan.Update && ch.LabelOnly:
		return Adopted
	case ch.Action == plan.Update:
		return Configured
	}
	return Unchanged
}

// stageReady waits for a stage's objects that this apply sent to be ready
// (a CRD established) before the objects that need them are sent, as
// ApplyAllStaged does. Those it left unchanged are not waited for: the
// plan's dry-runs of the objects it sends, which need them, passed, so
// they were serving then.
func (r *run) stageReady(ctx context.Context, slots []int) bool {
	var sent []int
	for _, i := range slots {
		if o := r.res.Objects[i].Outcome; o == Created || o == Configured {
			sent = append(sent, i)
		}
	}
	msg, ok := r.awaitReady(ctx, sent, stageWait, stagePollInterval)
	if ok {
		return true
	}
	if ctx.Err() != nil {
		r.cancelled(ctx)
		return false
	}
	r.stopped = "the CRDs, Namespaces or classes applied before it did not become ready"
	r.fail("%s; nothing that needs them was applied", msg)
	return false
}
