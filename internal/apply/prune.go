package apply

import (
	"context"
	"errors"
	"sort"

	"github.com/fluxcd/pkg/ssa"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipwayhq/slipway/internal/plan"
)

// keptSincePlan is the note for an object annotated to be kept after the
// plan was made.
const keptSincePlan = "kept: annotated " + plan.PruneAnnotation + ": " + plan.PruneDisabled + ", so it was not pruned"

// keptPruneOff is the note for a deletion in a plan of an environment that
// does not prune (the plan shows those as kept already; this is for a plan
// made otherwise).
const keptPruneOff = "kept: this environment has prune: false"

// prune deletes the plan's deletions in reverse apply order (objects before
// the Namespaces and CRDs that hold them), one at a time as ssa's DeleteAll
// does, but through ssa's Delete so that each failure is the object's own.
// An object annotated slipway.dev/prune: disabled is excluded by ssa, which
// reads it live. A failed deletion does not stop the others.
func (r *run) prune(ctx context.Context) {
	var objects []*unstructured.Unstructured
	for i, ch := range r.planned {
		if ch.Action != plan.Delete {
			continue
		}
		if !r.env.PruneEnabled() {
			r.set(i, Kept, keptPruneOff)
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: ch.Ref.Group, Version: ch.Ref.Version, Kind: ch.Ref.Kind})
		u.SetNamespace(ch.Ref.Namespace)
		u.SetName(ch.Ref.Name)
		objects = append(objects, u)
	}
	sort.Sort(sort.Reverse(ssa.SortableUnstructureds(objects)))
	opts := ssa.DeleteOptions{
		PropagationPolicy: metav1.DeletePropagationBackground,
		Exclusions:        map[string]string{plan.PruneAnnotation: plan.PruneDisabled},
	}
	for _, u := range objects {
		i := r.index[keyOf(u)]
		if ctx.Err() != nil {
			r.stopped = "the apply was cancelled first"
			r.fail("apply cancelled (%v) while pruning: %s", ctx.Err(), r.doneSoFar())
			return
		}
		entry, err := r.m.Delete(ctx, u, opts)
		switch {
		case err != nil:
			msg := errors.Unwrap(err)
			if msg == nil {
				msg = err
			}
			r.set(i, Failed, "not pruned: "+msg.Error())
			r.fail("prune %s: %v", r.planned[i].Ref, msg)
		case entry != nil && entry.Action == ssa.SkippedAction:
			r.set(i, Kept, keptSincePlan)
		default:
			r.set(i, Deleted, "")
		}
	}
}
