package apply

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/plan"
)

// configMaps renders one ConfigMap per name.
func configMaps(names ...string) string {
	var docs []string
	for _, n := range names {
		docs = append(docs, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+n+"}\ndata: {owner: "+n+"}\n")
	}
	return strings.Join(docs, "---\n")
}

// inventoryNames lists the names of what f's repository's environment owns.
func (f *fixture) inventoryNames() []string {
	f.t.Helper()
	refs, err := f.engine.Inventory(f.ctx(), f.repo, f.env)
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	for _, r := range refs {
		names = append(names, r.Name)
	}
	return names
}

func (f *fixture) exists(name string) bool {
	return f.live(plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: name}) != nil
}

// Two repositories with an environment "production" in one namespace, both
// pruning: each apply prunes its own repository's objects and leaves the
// other's alone.
func TestRepositoriesDoNotPruneEachOther(t *testing.T) {
	shop := newFixture(t)
	shop.env.Name = "production"
	other := *shop
	other.repo = "acme/other"
	env := *shop.env
	other.env = &env

	mustSucceed(t, shop.apply(configMaps("shop-a", "shop-b")))
	res := other.apply(configMaps("other-a"))
	mustSucceed(t, res)
	if len(res.Objects) != 1 {
		t.Errorf("acme/other's first apply touched acme/shop's objects:\n%s", res.Text())
	}
	for _, name := range []string{"shop-a", "shop-b", "other-a"} {
		if !shop.exists(name) {
			t.Errorf("%s is gone after both repositories applied", name)
		}
	}

	res = shop.apply(configMaps("shop-a"))
	mustSucceed(t, res)
	wantOutcome(t, res, "ConfigMap", "shop-b", Deleted)
	res = other.apply(configMaps("other-b"))
	mustSucceed(t, res)
	wantOutcome(t, res, "ConfigMap", "other-a", Deleted)
	for name, want := range map[string]bool{"shop-a": true, "shop-b": false, "other-a": false, "other-b": true} {
		if shop.exists(name) != want {
			t.Errorf("%s exists: %v, want %v", name, !want, want)
		}
	}
	if got := shop.inventoryNames(); !reflect.DeepEqual(got, []string{"shop-a"}) {
		t.Errorf("acme/shop's inventory %v", got)
	}
	if got := other.inventoryNames(); !reflect.DeepEqual(got, []string{"other-b"}) {
		t.Errorf("acme/other's inventory %v", got)
	}
	for _, repo := range []string{"acme/shop", "acme/other"} {
		cm, err := shop.kube.Client().CoreV1().ConfigMaps(shop.ns).Get(shop.ctx(), plan.InventoryName(repo, "production"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Annotations["slipway.dev/repository"] != repo || cm.Annotations["slipway.dev/environment"] != "production" {
			t.Errorf("%s's parent records %v", repo, cm.Annotations)
		}
	}
}

// The parent slipway-<env> an environment had before inventories were keyed
// by repository is adopted on the first apply: what the environment still
// renders stays and moves to the new parent, what it no longer renders is
// pruned (or kept, and moved too), and the old parent goes.
func TestApplyAdoptsTheLegacyInventory(t *testing.T) {
	f := newFixture(t)
	const legacy = "slipway-staging"
	legacyID := plan.ApplySetID(legacy, f.ns)
	// What slipway left before: the parent and its members, applied by
	// slipway's field manager and labelled with the parent's id.
	parent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: legacy, Namespace: f.ns,
		Labels: map[string]string{"applyset.kubernetes.io/id": legacyID},
		Annotations: map[string]string{
			"applyset.kubernetes.io/tooling":              "slipway/v1",
			"applyset.kubernetes.io/contains-group-kinds": "ConfigMap",
			"slipway.dev/environment":                     "staging",
		}}}
	if _, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Create(f.ctx(), parent, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var members []*unstructured.Unstructured
	for _, o := range f.objects(configMaps("keep", "changed", "gone", "pinned")) {
		u := o.Object
		u.SetNamespace(f.ns)
		u.SetLabels(map[string]string{"applyset.kubernetes.io/part-of": legacyID})
		if u.GetName() == "pinned" {
			u.SetAnnotations(map[string]string{plan.PruneAnnotation: plan.PruneDisabled})
		}
		members = append(members, u)
	}
	if _, err := f.engine.ResourceManager().ApplyAllStaged(f.ctx(), members, ssa.ApplyOptions{WaitTimeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}

	next := configMaps("keep", "fresh") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: changed}\ndata: {owner: someone-else}\n"
	p, objs := f.plan(next)
	if c := p.Counts(); c.Create != 1 || c.Update != 1 || c.Delete != 1 || c.Unchanged != 2 {
		t.Errorf("plan counts %+v, want 1 create (fresh), 1 update (changed), 1 delete (gone), 2 unchanged (keep, pinned)", c)
	}
	res := Run(f.ctx(), f.engine, f.env, p, objs)
	mustSucceed(t, res)
	wantOutcome(t, res, "ConfigMap", "keep", Unchanged)
	wantOutcome(t, res, "ConfigMap", "changed", Configured)
	wantOutcome(t, res, "ConfigMap", "fresh", Created)
	wantOutcome(t, res, "ConfigMap", "gone", Deleted)
	wantOutcome(t, res, "ConfigMap", "pinned", Kept)

	newID := plan.ApplySetID(plan.InventoryName(f.repo, "staging"), f.ns)
	for _, name := range []string{"keep", "changed", "fresh", "pinned"} {
		u := f.live(plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: name})
		if u == nil {
			t.Errorf("%s was pruned by the migration", name)
			continue
		}
		if got := u.GetLabels()["applyset.kubernetes.io/part-of"]; got != newID {
			t.Errorf("%s is part of %q, want the new inventory %q", name, got, newID)
		}
	}
	if f.exists("gone") {
		t.Error("gone, no longer rendered, was not pruned")
	}
	if _, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Get(f.ctx(), legacy, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the legacy parent is still there after a successful apply (get: %v)", err)
	}
	if got, want := f.inventoryNames(), []string{"changed", "fresh", "keep", "pinned"}; !reflect.DeepEqual(got, want) {
		t.Errorf("inventory %v, want %v", got, want)
	}

	again, _ := f.plan(next)
	for _, ch := range again.Changes {
		if ch.Adopted || (ch.Action != plan.Unchanged) {
			t.Errorf("after the migration: %s %s adopted=%v, want unchanged", ch.Action, ch.Ref, ch.Adopted)
		}
	}
}
