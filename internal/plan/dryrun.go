package plan

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// readAttempts bounds how often dryRun retries an object that changes
// between its dry-run and the read of its live state.
const readAttempts = 3

// dryRun asks the apiserver what applying it.desired would make of the
// object (server-side apply, dryRun=All, forcing conflicts as the source of
// truth does), and finds the live object to compare that with.
//
// Requests: one dry-run PATCH per object, plus a GET only when the object was
// not listed (as an ApplySet member, or by readRendered) or has changed
// since. A dry-run that creates needs no read at all: its answer has no
// resourceVersion. This is why the engine does not call
// ssa.ResourceManager.Diff, which sends the same dry-run: Diff reads every
// object first, and it drops the dry-run answer for creates and unchanged
// objects, which the plan shows and compares after its own normalisation.
func (e *Engine) dryRun(ctx context.Context, it *item, listed liveObjects) {
	if it.prepErr != nil {
		return
	}
	for attempt := 1; ; attempt++ {
		obj := it.desired.DeepCopy()
		err := e.client.Apply(withWarnings(ctx, &it.warnings), client.ApplyConfigurationFromUnstructured(obj),
			client.DryRunAll, client.ForceOwnership, client.FieldOwner(e.opts.FieldManager))
		if err != nil {
			it.err = err
			return
		}
		it.dryRun = obj
		if obj.GetResourceVersion() == "" {
			it.live = nil
			break
		}
		live := listed[it.key]
		if live == nil || live.GetAPIVersion() != obj.GetAPIVersion() || live.GetResourceVersion() != obj.GetResourceVersion() {
			if live, err = e.get(ctx, it); err != nil {
				it.err = err
				return
			}
		}
		// A dry-run answers at the live resourceVersion; a read at another
		// one means the object changed in between, and the pair would not
		// compare.
		if live != nil && live.GetResourceVersion() == obj.GetResourceVersion() || attempt == readAttempts {
			it.live = live
			break
		}
	}
	if it.live != nil && len(it.ignored) > 0 {
		if _, err := adoptIgnored(it.desired, it.live, it.dryRun, it.ignored); err != nil {
			it.err = err
		}
	}
}

// get reads the live object at the desired API version; absent is nil.
func (e *Engine) get(ctx context.Context, it *item) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(it.desired.GroupVersionKind())
	err := e.client.Get(ctx, client.ObjectKeyFromObject(it.desired), live)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", it.ref, err)
	}
	return live, nil
}
