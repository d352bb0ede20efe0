package apply

import (
	"context"

	"github.com/slipwayhq/slipway/internal/plan"
)

// Adopting a legacy inventory (slipway-<env>, from before inventories were
// keyed by repository; see plan's migrate.go). The plan marks its members
// Adopted; those the environment renders are sent like any other object
// (sendGroup), which moves their ApplySet label, and those it keeps are
// moved here. Once the run has succeeded, the legacy parent goes.

// adoptKept moves the adopted members apply keeps (no longer rendered, not
// pruned) into the environment's inventory, so that none is orphaned when
// the legacy parent is removed. It reports whether that worked.
func (r *run) adoptKept(ctx context.Context) bool {
	var refs []plan.Ref
	for i, ch := range r.planned {
		if ch.Adopted && r.res.Objects[i].Outcome == Kept {
			refs = append(refs, ch.Ref)
		}
	}
	if err := r.e.AdoptMembers(ctx, r.p.Repository, r.env, refs); err != nil {
		r.stopAt(ctx, "moving kept objects into the inventory failed", "adopt the environment's old inventory: %v", err)
		return false
	}
	return true
}

// retireLegacy removes the adopted legacy parent after a run that has
// succeeded so far; after a failure it stays, and the next apply carries on
// adopting. Its removal failing fails the run, which changed the cluster
// as planned nonetheless: the message says so.
func (r *run) retireLegacy(ctx context.Context) {
	if r.res.Err != "" {
		return
	}
	if err := r.e.RetireLegacyInventory(ctx, r.p.Repository, r.env); err != nil {
		r.fail("the objects were applied, but removing the environment's old inventory failed: %v", err)
	}
}
