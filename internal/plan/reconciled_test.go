package plan

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/render"
)

// fluxMarks are what kustomize-controller puts on what it applies.
var fluxMarks = Marks{FieldManager: "kustomize-controller", Labels: map[string]string{
	"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}}

// applyAs applies objs the way a reconciler does: server-side, as its own
// field manager, with its labels.
func (f *fixture) applyAs(marks Marks, objs []render.Object) {
	f.t.Helper()
	for _, o := range objs {
		u := o.Object.DeepCopy()
		u.SetNamespace(f.ns)
		u.SetLabels(marks.Labels)
		if err := f.engine.client.Apply(f.ctx(), client.ApplyConfigurationFromUnstructured(u), client.ForceOwnership, client.FieldOwner(marks.FieldManager)); err != nil {
			f.t.Fatal(err)
		}
	}
}

// A plan of an environment Flux applies is kustomize-controller's diff: a
// key the manifests drop is removed (the manager owned it), the Flux labels
// are no change, and slipway writes no inventory of its own.
func TestReconciledPlanIsTheReconcilersDiff(t *testing.T) {
	f := newFixture(t)
	f.applyAs(fluxMarks, f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: same}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dropped}
data: {keep: "1", drop: "1"}
`))
	next := f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: same}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dropped}
data: {keep: "1"}
`)
	flux := f.engine.ReconciledBy(fluxMarks)
	p, err := flux.Compute(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: next})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary(p))
	wantAction(t, change(t, p, "ConfigMap", "same"), Unchanged)
	up := change(t, p, "ConfigMap", "dropped")
	wantAction(t, up, Update)
	if !strings.Contains(up.Before, "drop:") || strings.Contains(up.After, "drop:") || strings.Contains(up.After, applySetPartOfLabel) {
		t.Errorf("update before/after:\n%s\n%s", up.Before, up.After)
	}

	// As slipway's own manager the same plan would be wrong twice over:
	// the dropped key stays (kustomize-controller owns it) and every object
	// gains slipway's ApplySet label.
	own := f.plan(next)
	if ch := change(t, own, "ConfigMap", "dropped"); strings.Contains(ch.Before, "drop:") && !strings.Contains(ch.After, "drop:") {
		t.Errorf("slipway's manager removed a field kustomize-controller owns:\n%s", ch.After)
	}
	wantAction(t, change(t, own, "ConfigMap", "same"), Update)

	cm := &corev1.ConfigMap{}
	err = f.engine.client.Get(f.ctx(), client.ObjectKey{Namespace: f.ns, Name: InventoryName(f.repo, f.env.Name)}, cm)
	if !apierrors.IsNotFound(err) {
		t.Errorf("a reconciled plan left an inventory: %v", err)
	}
}

// Argo CD's tracking id names each object; a plan with it shows no change
// for what Argo CD applied.
func TestReconciledPlanAddsAnnotations(t *testing.T) {
	f := newFixture(t)
	argo := Marks{FieldManager: "argocd-controller", Annotations: func(r Ref) map[string]string {
		return map[string]string{"argocd.argoproj.io/tracking-id": "shop:/" + r.Kind + ":" + r.Namespace + "/" + r.Name}
	}}
	objs := f.objects("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"1\"}\n")
	p, err := f.engine.ReconciledBy(argo).Compute(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	cr := change(t, p, "ConfigMap", "a")
	wantAction(t, cr, Create)
	if want := "argocd.argoproj.io/tracking-id: shop:/ConfigMap:" + f.ns + "/a"; !strings.Contains(cr.After, want) {
		t.Errorf("create lacks %q:\n%s", want, cr.After)
	}
}

// The reconciler's inventory is what its prune deletes: an owned object no
// longer rendered is a deletion, one it keeps is kept, one already gone or
// outside the server's bounds is not read at all.
func TestReconciledPlanDeletesWhatTheReconcilerPrunes(t *testing.T) {
	f := newFixture(t)
	f.applyAs(fluxMarks, f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: stays}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: pruned}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: spared, annotations: {keep: "yes"}}
data: {k: "1"}
`))
	owned := func(name string) Ref { return Ref{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: name} }
	marks := fluxMarks
	marks.Owned = []Ref{owned("stays"), owned("pruned"), owned("spared"), owned("gone"), {Version: "v1", Kind: "ConfigMap", Namespace: "kube-system", Name: "outside"}}
	marks.Kept = func(live *unstructured.Unstructured) string {
		if live.GetAnnotations()["keep"] == "yes" {
			return "kept: annotated"
		}
		return ""
	}
	engine := f.engine.ReconciledBy(marks).Confined(func(r Ref) error {
		if r.Namespace == "kube-system" {
			return errors.New("not allowed")
		}
		return nil
	})
	p, err := engine.Compute(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: f.objects("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stays}\ndata: {k: \"1\"}\n")})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary(p))
	wantAction(t, change(t, p, "ConfigMap", "stays"), Unchanged)
	del := change(t, p, "ConfigMap", "pruned")
	wantAction(t, del, Delete)
	if sp := change(t, p, "ConfigMap", "spared"); !sp.Kept || sp.Message != "kept: annotated" {
		t.Errorf("spared: %+v", sp)
	}
	if c := p.Counts(); c.Delete != 1 || c.Error != 0 || len(p.Changes) != 3 {
		t.Errorf("counts %+v, changes %v", c, summary(p))
	}
}
