package apply

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/plan"
)

// applyStaged sends the plan's objects with ssa's ApplyAllStaged and records
// each object's outcome. It reports whether every object was applied.
//
// ApplyAllStaged returns the change set of the stages it finished and, on a
// failure, only an error, so the failed stage is reconstructed here from
// how ssa works: a stage (cluster definitions, classes, the rest; see
// stageOf) dry-runs all its objects before applying any, then applies them
// one at a time in its sort order and stops at the first refusal. So a
// dry-run error means nothing of its stage reached the cluster, and an
// apply error means the objects sorted before the refused one did.
func (r *run) applyStaged(ctx context.Context) bool {
	var objects []*unstructured.Unstructured
	for _, u := range r.payload {
		if u != nil {
			objects = append(objects, u.DeepCopy())
		}
	}
	if len(objects) == 0 {
		return true
	}
	opts := ssa.DefaultApplyOptions()
	opts.WaitInterval = pollInterval
	opts.WaitTimeout = stageWait
	if deadline, ok := ctx.Deadline(); ok {
		// ssa waits for CRDs without the context: bound it by hand.
		opts.WaitTimeout = max(min(opts.WaitTimeout, time.Until(deadline)), time.Second)
	}
	cs, err := r.m.ApplyAllStaged(ctx, objects, opts)
	applied := make([]bool, len(r.res.Objects))
	if cs != nil {
		for _, e := range cs.Entries {
			i, ok := r.index[key{e.ObjMetadata.GroupKind.Group, e.ObjMetadata.GroupKind.Kind, e.ObjMetadata.Namespace, e.ObjMetadata.Name}]
			if !ok {
				continue
			}
			applied[i] = true
			r.set(i, outcomeOf(e.Action), "")
		}
	}
	if err == nil {
		return true
	}
	r.attribute(ctx, err, applied)
	return false
}

func outcomeOf(a ssa.Action) Outcome {
	switch a {
	case ssa.CreatedAction:
		return Created
	case ssa.ConfiguredAction:
		return Configured
	case ssa.UnchangedAction:
		return Unchanged
	}
	return NotApplied
}

// attribute turns ApplyAllStaged's error into outcomes: the refused object
// is failed, those of its stage that ssa applied before it are created or
// configured as planned, and the rest stay not applied.
func (r *run) attribute(ctx context.Context, err error, applied []bool) {
	var dryRun *ssaerrors.DryRunErr
	if errors.As(err, &dryRun) && dryRun.InvolvedObject() != nil {
		i, ok := r.index[keyOf(dryRun.InvolvedObject())]
		if !ok {
			r.stopAt(ctx, "the apply stopped", "apply: %v", err)
			return
		}
		r.refuse(ctx, i, dryRun.Unwrap().Error())
		return
	}
	i, msg, ok := r.refusedApply(err, applied)
	if !ok {
		// A stage's wait (a CRD not established in time) or something
		// ssa does not attribute to one object.
		r.stopAt(ctx, "an earlier stage did not finish", "apply: %v", err)
		return
	}
	stage := stageOf(r.payload[i])
	var before []*unstructured.Unstructured
	for j, u := range r.payload {
		if u != nil && !applied[j] && stageOf(u) == stage {
			before = append(before, u)
		}
	}
	sort.Sort(ssa.SortableUnstructureds(before))
	for _, u := range before {
		j := r.index[keyOf(u)]
		if j == i {
			break
		}
		r.set(j, plannedOutcome(r.planned[j].Action), "")
	}
	r.refuse(ctx, i, msg)
}

// refuse records that the cluster refused slot i, unless ctx ended, which
// is then why the request failed.
func (r *run) refuse(ctx context.Context, i int, msg string) {
	if ctx.Err() == nil {
		r.set(i, Failed, msg)
	}
	r.stopAt(ctx, "the cluster refused "+r.planned[i].Ref.String()+", and apply stops at the first refusal",
		"%s: %s", r.planned[i].Ref, msg)
}

// refusedApply finds the object an ssa "apply failed" error names, among
// those not yet applied, and the apiserver's message.
func (r *run) refusedApply(err error, applied []bool) (int, string, bool) {
	text := err.Error()
	for i, u := range r.payload {
		if u == nil || applied[i] {
			continue
		}
		prefix := utils.FmtUnstructured(u) + " apply failed: "
		if rest, ok := strings.CutPrefix(text, prefix); ok {
			if inner := errors.Unwrap(err); inner != nil {
				rest = inner.Error()
			}
			return i, rest, true
		}
	}
	return 0, "", false
}

// plannedOutcome is what applying an object did when ssa applied it without
// reporting back: what the plan said it would do.
func plannedOutcome(a plan.Action) Outcome {
	switch a {
	case plan.Create:
		return Created
	case plan.Update:
		return Configured
	}
	return Unchanged
}

// Stages of ssa's ApplyAllStaged, decided as it decides them.
const (
	stageDefinitions = iota // CRDs, Namespaces, ClusterRoles
	stageClasses
	stageRest
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
