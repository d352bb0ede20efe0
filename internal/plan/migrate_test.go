package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/render"
)

// parentConfigMap creates a slipway parent for environment env named name,
// recording repository repo ("" for none, as a legacy parent) and the
// ConfigMap kind, as slipway writes them.
func (f *fixture) parentConfigMap(name, env, repo string) {
	f.t.Helper()
	ann := map[string]string{
		"applyset.kubernetes.io/tooling":              "slipway/v1",
		"applyset.kubernetes.io/contains-group-kinds": "ConfigMap",
		"slipway.dev/environment":                     env,
	}
	if repo != "" {
		ann["slipway.dev/repository"] = repo
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Annotations: ann,
		Labels: map[string]string{"applyset.kubernetes.io/id": ApplySetID(name, f.ns)}}}
	if _, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Create(f.ctx(), cm, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// legacyState is what slipway left before inventories were keyed by
// repository: the parent slipway-<env> and its members, applied by slipway's
// field manager with that parent's id.
func (f *fixture) legacyState(text string) string {
	f.t.Helper()
	legacy := "slipway-" + f.env.Name
	f.parentConfigMap(legacy, f.env.Name, "")
	id := ApplySetID(legacy, f.ns)
	var objs []*unstructured.Unstructured
	for _, o := range f.objects(text) {
		u := o.Object
		u.SetNamespace(f.ns)
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels["applyset.kubernetes.io/part-of"] = id
		u.SetLabels(labels)
		objs = append(objs, u)
	}
	opts := ssa.DefaultApplyOptions()
	opts.WaitTimeout = 30 * time.Second
	if _, err := f.engine.ResourceManager().ApplyAllStaged(f.ctx(), objs, opts); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func TestInventoryOfAnotherRepositoryIsRefused(t *testing.T) {
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
	tests := []struct {
		name  string
		setup func(f *fixture)
		want  string // "" when the plan goes ahead
	}{
		{"the parent records another repository", func(f *fixture) {
			f.parentConfigMap(InventoryName(f.repo, "staging"), "staging", "acme/other")
		}, "the inventory " + InventoryName("acme/shop", "staging") + " in NS belongs to acme/other, not acme/shop: two repositories cannot own one environment's objects; rename the environment or use another namespace"},
		{"the legacy parent records another repository", func(f *fixture) {
			f.parentConfigMap("slipway-staging", "staging", "acme/other")
		}, "the inventory slipway-staging in NS belongs to acme/other, not acme/shop"},
		{"another repository adopted the legacy parent first", func(f *fixture) {
			f.parentConfigMap("slipway-staging", "staging", "")
			if err := f.engine.WriteInventory(f.ctx(), "acme/other", f.env, nil); err != nil {
				f.t.Fatal(err)
			}
		}, "the inventory slipway-staging in NS belongs to acme/other, not acme/shop"},
		{"the same repository spelt otherwise", func(f *fixture) {
			f.parentConfigMap(InventoryName(f.repo, "staging"), "staging", "ACME/shop")
		}, ""},
		{"a legacy name another tool uses is not slipway's", func(f *fixture) {
			c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "slipway-staging", Namespace: f.ns,
				Annotations: map[string]string{"applyset.kubernetes.io/tooling": "kubectl/v1.37", "slipway.dev/repository": "acme/other"}}}
			if _, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Create(f.ctx(), c, metav1.CreateOptions{}); err != nil {
				f.t.Fatal(err)
			}
		}, ""},
		{"a legacy name another environment's parent has", func(f *fixture) {
			// Environment "staging-<hash>" would take acme/other's parent of
			// environment "staging" for its legacy one.
			f.env.Name = strings.TrimPrefix(InventoryName("acme/other", "staging"), "slipway-")
			f.parentConfigMap(InventoryName("acme/other", "staging"), "staging", "acme/other")
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.setup(f)
			want := strings.ReplaceAll(tc.want, "NS", f.ns)
			_, err := f.engine.Compute(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: f.objects(cm)})
			werr := f.engine.WriteInventory(f.ctx(), f.repo, f.env, nil)
			if want == "" {
				if err != nil || werr != nil {
					t.Fatalf("plan: %v; write inventory: %v; want both to go ahead", err, werr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("plan error %v,\nwant one saying %q", err, want)
			}
			if werr == nil || !strings.Contains(werr.Error(), want) {
				t.Errorf("write inventory error %v,\nwant one saying %q", werr, want)
			}
		})
	}
}

func TestPlanAdoptsTheLegacyInventory(t *testing.T) {
	const legacySet = `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep, labels: {app: web}}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: changed}
data: {k: old}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: gone}
`
	f := newFixture(t)
	legacyID := f.legacyState(legacySet)

	// A pure migration shows nothing: the label move is no change.
	p := f.plan(f.objects(legacySet))
	if p.HasChanges() || len(p.Notes) != 0 {
		t.Errorf("a plan of the legacy set as it is has changes: %v, notes %q", summary(p), p.Notes)
	}
	for _, ch := range p.Changes {
		if !ch.Adopted || ch.Before != "" || ch.After != "" || ch.Message != "" {
			t.Errorf("%s: %+v, want adopted and unchanged, with nothing to show", ch.Ref, ch)
		}
	}

	// Changes are shown without the label's move.
	p = f.plan(f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: keep, labels: {app: web}}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: changed}
data: {k: new}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: fresh}
`))
	if c := p.Counts(); c.Create != 1 || c.Update != 1 || c.Delete != 1 || c.Unchanged != 1 {
		t.Errorf("counts %+v, want 1 create, 1 update, 1 delete, 1 unchanged: %v", c, summary(p))
	}
	wantAction(t, change(t, p, "ConfigMap", "keep"), Unchanged)
	upd := change(t, p, "ConfigMap", "changed")
	wantAction(t, upd, Update)
	if strings.Contains(upd.Before, legacyID) || strings.Contains(upd.After, legacyID) || upd.Message != "" || !upd.Adopted {
		t.Errorf("update of an adopted object shows the label's move or a note:\n%s\n---\n%s\n%s", upd.Before, upd.After, upd.Message)
	}
	if !strings.Contains(upd.Before, "k: old") || !strings.Contains(upd.After, "k: new") {
		t.Errorf("update does not show the data's change:\n%s\n---\n%s", upd.Before, upd.After)
	}
	if del := change(t, p, "ConfigMap", "gone"); del.Action != Delete || !del.Adopted {
		t.Errorf("gone: %+v, want an adopted deletion", del)
	}
	if fresh := change(t, p, "ConfigMap", "fresh"); fresh.Action != Create || fresh.Adopted {
		t.Errorf("fresh: %+v, want a create", fresh)
	}
}
