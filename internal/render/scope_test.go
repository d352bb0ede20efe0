package render

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// fakeScoper knows the kinds it maps, as discovery would.
type fakeScoper map[schema.GroupKind]bool

func (f fakeScoper) Namespaced(gvk schema.GroupVersionKind) (bool, error) {
	namespaced, ok := f[gvk.GroupKind()]
	if !ok {
		return false, &meta.NoKindMatchError{GroupKind: gvk.GroupKind(), SearchedVersions: []string{gvk.Version}}
	}
	return namespaced, nil
}

// builtinScoper knows the built-in kinds the fixtures use.
func builtinScoper() fakeScoper {
	return fakeScoper{
		{Kind: "ConfigMap"}: true, {Kind: "Service"}: true, {Kind: "Secret"}: true,
		{Group: "apps", Kind: "Deployment"}: true, {Group: "apps", Kind: "StatefulSet"}: true,
		{Group: "batch", Kind: "Job"}: true,
		{Kind: "Namespace"}:           false, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}: false,
		{Group: crdGroup, Kind: "CustomResourceDefinition"}: false,
	}
}

func namespaces(objs []Object) map[string]string {
	out := map[string]string{}
	for _, o := range objs {
		out[o.Object.GetKind()+"/"+o.Object.GetName()] = o.Object.GetNamespace()
	}
	return out
}

// Namespaces are decided by the real kube-apiserver's discovery, and by the
// CRDs of the render itself for kinds the cluster does not have yet.
func TestNamespacesFromCluster(t *testing.T) {
	scope, err := NewScoper(testenv.Get(t).Config())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Render(context.Background(), "testdata/scoped", env("deploy/app", "team-a"), Options{Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ConfigMap/settings":                             "team-a", // namespaced, none given
		"ConfigMap/elsewhere":                            "other",  // namespaced, its own kept
		"ClusterRole/reader":                             "",       // cluster-scoped
		"CustomResourceDefinition/gadgets.example.com":   "",
		"CustomResourceDefinition/platforms.example.com": "",
		"Gadget/gizmo":                                   "team-a", // its CRD, in this render, is Namespaced
		"Platform/base":                                  "",       // its CRD, in this render, is Cluster
	}
	got := namespaces(res.Objects)
	for k, ns := range want {
		if got[k] != ns {
			t.Errorf("%s in namespace %q, want %q", k, got[k], ns)
		}
	}
	if len(got) != len(want) {
		t.Errorf("objects %v, want %d", got, len(want))
	}
}

func TestUnknownKind(t *testing.T) {
	scope, err := NewScoper(testenv.Get(t).Config())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"no such kind", "apiVersion: bar.io/v1\nkind: Foo\nmetadata:\n  name: x\n", "Foo x: no kind Foo in group bar.io/v1 on the cluster; is its CRD installed?"},
		{"old version of a built-in kind", "apiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n", "the cluster serves Deployment as apps/v1, not apps/v1beta1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{"deploy/app/objects.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\n" + tt.doc})
			err := renderError(t, root, env("deploy/app", "team-a"), Options{Scope: scope})
			if err.File != "deploy/app/objects.yaml" || err.Line != 6 || !strings.Contains(err.Msg, tt.want) {
				t.Errorf("error %q, want deploy/app/objects.yaml:6 saying %q", err, tt.want)
			}
		})
	}
}

// A custom resource whose CRD the cluster already has is scoped by it.
func TestNamespacesFromInstalledCRD(t *testing.T) {
	e := testenv.Get(t)
	ctx := context.Background()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "sprockets.render.test"},
		"spec": map[string]any{
			"group": "render.test",
			"names": map[string]any{"kind": "Sprocket", "plural": "sprockets"},
			"scope": "Namespaced",
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	crds := e.Dynamic().Resource(schema.GroupVersionResource{Group: crdGroup, Version: "v1", Resource: "customresourcedefinitions"})
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = crds.Delete(context.Background(), "sprockets.render.test", metav1.DeleteOptions{}) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := e.Client().Discovery().ServerResourcesForGroupVersion("render.test/v1"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("CRD never served: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	scope, err := NewScoper(e.Config())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"deploy/app/s.yaml": "apiVersion: render.test/v1\nkind: Sprocket\nmetadata:\n  name: s\n"})
	res, err := Render(ctx, root, env("deploy/app", "team-b"), Options{Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	if ns := res.Objects[0].Object.GetNamespace(); ns != "team-b" {
		t.Errorf("Sprocket in namespace %q, want team-b", ns)
	}
}

// Without a namespace to give, objects are left as rendered.
func TestNoNamespaceGiven(t *testing.T) {
	res, err := Render(context.Background(), "testdata/plain", env("deploy/app", ""), Options{Scope: builtinScoper()})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		if ns := o.Object.GetNamespace(); ns != "" {
			t.Errorf("%s %s got namespace %q", o.Object.GetKind(), o.Object.GetName(), ns)
		}
	}
}

// Two objects that only differ in whether the namespace was written out
// are the same object once it is defaulted.
func TestDuplicateAfterDefaulting(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"deploy/app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
		"deploy/app/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: team-a\n",
	})
	err := renderError(t, root, env("deploy/app", "team-a"), Options{Scope: builtinScoper()})
	if err.File != "deploy/app/b.yaml" || !strings.Contains(err.Msg, "defined twice; the other is at deploy/app/a.yaml:1") {
		t.Errorf("error %q, want the duplicate named with both places", err)
	}
}
