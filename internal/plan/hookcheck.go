package plan

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// dryRunHooks asks the cluster, as the engine's identity (the
// environment's service account, when it impersonates one), whether it
// would create each hook the apply runs: a hook its RBAC or an admission
// policy refuses becomes an Error change, so the plan shows it and cannot
// be applied, rather than failing half-way through an apply. The dry-run
// is a create, as a hook is created afresh; a hook whose object exists
// (replaced or updated by the apply), whose namespace or CRD this plan
// creates first, cannot be judged this way and is left to the apply.
func (e *Engine) dryRunHooks(ctx context.Context, hp *hookPlan) error {
	errs := make([]error, len(hp.run))
	if err := e.parallel(ctx, len(hp.run), func(ctx context.Context, i int) error {
		obj := hp.run[i].payload.DeepCopy()
		err := e.client.Create(ctx, obj, client.DryRunAll, client.FieldOwner(e.opts.FieldManager))
		switch {
		case err == nil, apierrors.IsAlreadyExists(err), apierrors.IsNotFound(err), meta.IsNoMatchError(err):
		default:
			errs[i] = err
		}
		return ctx.Err()
	}); err != nil {
		return err
	}
	refused := map[objectKey]bool{}
	var run []hookEntry
	for i, en := range hp.run {
		k := keyOf(en.payload)
		if errs[i] == nil && !refused[k] {
			run = append(run, en)
			continue
		}
		if refused[k] {
			continue // a hook of both phases is refused once
		}
		refused[k] = true
		msg := e.mask.scrubSecrets(errs[i].Error(), en.payload)
		hp.refused = append(hp.refused, entry{change: Change{Ref: en.hook.Ref, Action: Error, File: en.hook.File,
			Message: fmt.Sprintf("Helm %s hook: the cluster refuses it (dry-run): %s", en.hook.Event, msg)}})
	}
	// The other phase's run of a refused hook goes too.
	hp.run = run[:0]
	for _, en := range run {
		if !refused[keyOf(en.payload)] {
			hp.run = append(hp.run, en)
		}
	}
	return nil
}
