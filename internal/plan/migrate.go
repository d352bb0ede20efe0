package plan

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Migration from the legacy parent. Before inventories were keyed by
// repository, an environment's parent was slipway-<env>, shared by every
// repository with an environment of that name in the namespace. Such a
// parent records no repository, and the first repository to use it adopts
// it:
//
//   - a plan lists its members with the new parent's, so what the
//     environment still renders is updated or unchanged, never pruned, and
//     the move of their ApplySet label is left out of the diff (Change.Adopted);
//   - an apply first marks the legacy parent as its repository's
//     (claimLegacy), so another repository is refused from then on, then
//     sends the adopted objects it renders with the new label, moves the
//     kept ones by a label patch (AdoptMembers), and once everything
//     succeeded deletes the legacy parent (RetireLegacyInventory).
//
// An apply interrupted half-way leaves the legacy parent claimed, and the
// next plan and apply carry on from there.

// claimLegacy records repo on a legacy parent that records no repository
// yet, conditional on the version read, so two repositories adopting the
// same parent at once cannot both succeed.
func (e *Engine) claimLegacy(ctx context.Context, inv inventory, legacy *parent) error {
	if legacy == nil || legacy.recorded != "" {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": legacy.resourceVersion,
		"annotations":     map[string]string{inventoryRepositoryKey: inv.repo},
	}})
	if err != nil {
		return err
	}
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetName(legacy.name)
	cm.SetNamespace(legacy.namespace)
	if err := e.client.Patch(ctx, cm, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(e.opts.FieldManager)); err != nil {
		return fmt.Errorf("adopt the old inventory %s/%s for %s: %w", legacy.namespace, legacy.name, inv.repo, err)
	}
	return nil
}

// AdoptMembers moves refs, members of repository repo's environment env
// recorded under the legacy parent that apply does not send (kept ones),
// into the environment's ApplySet by patching their part-of label alone.
func (e *Engine) AdoptMembers(ctx context.Context, repo string, env *repoconfig.Environment, refs []Ref) error {
	if len(refs) == 0 {
		return nil
	}
	inv, err := e.inventoryOf(repo, env)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"labels": map[string]string{applySetPartOfLabel: ApplySetID(inv.name, inv.namespace)},
	}})
	if err != nil {
		return err
	}
	return e.parallel(ctx, len(refs), func(ctx context.Context, i int) error {
		r := refs[i]
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind})
		u.SetNamespace(r.Namespace)
		u.SetName(r.Name)
		if err := e.client.Patch(ctx, u, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(e.opts.FieldManager)); err != nil {
			return fmt.Errorf("move %s into inventory %s/%s: %w", r, inv.namespace, inv.name, err)
		}
		return nil
	})
}

// RetireLegacyInventory deletes the legacy parent repository repo's
// environment env has adopted, once no object carries its ApplySet label
// any more; apply calls it after a run that succeeded. Without a legacy
// parent it does nothing.
func (e *Engine) RetireLegacyInventory(ctx context.Context, repo string, env *repoconfig.Environment) error {
	inv, err := e.inventoryOf(repo, env)
	if err != nil {
		return err
	}
	p, err := e.readParents(ctx, inv)
	if err != nil {
		return err
	}
	old := p.legacy
	if old == nil {
		return nil
	}
	if ownerOf(old.recorded, repo) != ownedByUs {
		return fmt.Errorf("the old inventory %s/%s was not adopted by %s first; apply again", old.namespace, old.name, repo)
	}
	left, err := e.listMembers(ctx, old)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("the old inventory %s/%s still has %d %s; it is removed once they moved to %s (apply again)",
			old.namespace, old.name, len(left), pluralize(len(left), "member", "members"), inv.name)
	}
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetName(old.name)
	cm.SetNamespace(old.namespace)
	uid := types.UID(old.uid)
	err = e.client.Delete(ctx, cm, client.Preconditions{UID: &uid, ResourceVersion: &old.resourceVersion})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove the old inventory %s/%s: %w", old.namespace, old.name, err)
	}
	return nil
}
