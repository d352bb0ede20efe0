package plan

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// listThreshold is how many rendered objects of one kind and namespace the
// inventory's LIST did not find it takes before they are read by a LIST
// of their own rather than by a GET each after their dry-run (objects
// another tool created, being adopted; members of an inventory that does
// not record their kind). A LIST reads the whole collection, which may
// hold objects slipway never rendered, so a few objects are cheaper read
// one by one.
const listThreshold = 16

// liveObjects are the live copies of rendered objects found by LIST, by
// identity: the inventory's members, and the other rendered objects that
// readRendered listed. Unlike members, it says nothing about what the
// environment owns: deletions are decided from members alone.
type liveObjects map[objectKey]*unstructured.Unstructured

// readRendered lists, per API version, kind and namespace, the rendered
// objects the members do not include, where there are at least
// listThreshold of them, and returns what was found together with the
// members.
func (e *Engine) readRendered(ctx context.Context, items []*item, listed members, settle func(*unstructured.Unstructured) *unstructured.Unstructured) (liveObjects, error) {
	live := make(liveObjects, len(listed))
	for k, u := range listed {
		live[k] = u
	}
	type group struct {
		gvk       schema.GroupVersionKind
		namespace string
	}
	missing := map[group]map[objectKey]bool{}
	var order []group
	for _, it := range items {
		if it.prepErr != nil || live[it.key] != nil {
			continue
		}
		g := group{gvk: it.desired.GroupVersionKind(), namespace: it.desired.GetNamespace()}
		if missing[g] == nil {
			missing[g] = map[objectKey]bool{}
			order = append(order, g)
		}
		missing[g][it.key] = true
	}
	var lists []group
	for _, g := range order {
		if len(missing[g]) >= listThreshold {
			lists = append(lists, g)
		}
	}
	found := make([][]*unstructured.Unstructured, len(lists))
	err := e.parallel(ctx, len(lists), func(ctx context.Context, i int) error {
		g := lists[i]
		var keep []*unstructured.Unstructured
		err := e.listPages(ctx, g.gvk, g.namespace, nil, func(u *unstructured.Unstructured) {
			if missing[g][keyOf(u)] {
				keep = append(keep, settle(u))
			}
		})
		found[i] = keep
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, us := range found {
		for _, u := range us {
			live[keyOf(u)] = u
		}
	}
	return live, nil
}

// settler is what a plan does with each listed object as it arrives: a
// rendered object the fast path shows unchanged (see provablyUnchanged,
// unless fast is false) marks its item local and is kept as a stub that
// only says it exists; every other object is kept without its managed
// fields, which nothing needs once this decision is made (normalized drops
// them). Objects of 10,000 are then never all held in full at once.
func (e *Engine) settler(items []*item, fast bool) func(*unstructured.Unstructured) *unstructured.Unstructured {
	byKey := make(map[objectKey]*item, len(items))
	for _, it := range items {
		// Objects with ignored paths are always dry-run: what apply
		// sends for them depends on it (adoptIgnored).
		if it.prepErr == nil && len(it.ignored) == 0 {
			byKey[it.key] = it
		}
	}
	return func(u *unstructured.Unstructured) *unstructured.Unstructured {
		if it := byKey[keyOf(u)]; fast && it != nil {
			if ok, _ := provablyUnchanged(it.desired, u, e.opts.FieldManager); ok {
				it.local = true // each key is listed once: no other goroutine writes it
				stub := &unstructured.Unstructured{}
				stub.SetGroupVersionKind(u.GroupVersionKind())
				stub.SetNamespace(u.GetNamespace())
				stub.SetName(u.GetName())
				return stub
			}
		}
		unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
		return u
	}
}

// listPages lists gvk in namespace ("" for all or cluster-scoped), page by
// page, handing each object to keep; labels, when not nil, selects.
// A namespace that does not exist (yet) has nothing to list.
func (e *Engine) listPages(ctx context.Context, gvk schema.GroupVersionKind, namespace string, labels client.MatchingLabels, keep func(*unstructured.Unstructured)) error {
	base := []client.ListOption{client.Limit(listPageSize)}
	if labels != nil {
		base = append(base, labels)
	}
	if namespace != "" {
		base = append(base, client.InNamespace(namespace))
	}
	opts := base
	for {
		// A fresh list per page: keep holds on to the items of earlier ones.
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := e.client.List(ctx, list, opts...); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("list %s in %q: %w", gvk.Kind, namespace, err)
		}
		for i := range list.Items {
			// Each object on its own, not a pointer into the page: keep
			// may hold on to a few objects of a page (those that changed)
			// and drop the rest (see Engine.settler), and a pointer into
			// the page would keep all 500 of them, in full.
			u := &unstructured.Unstructured{Object: list.Items[i].Object}
			list.Items[i].Object = nil
			u.SetGroupVersionKind(gvk)
			keep(u)
		}
		if list.GetContinue() == "" {
			return nil
		}
		opts = append(base[:len(base):len(base)], client.Continue(list.GetContinue()))
	}
}
