package reconciler

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"
)

// fakeCluster is a client over objs (YAML documents), without an API server.
func fakeCluster(t *testing.T, docs ...string) client.Client {
	t.Helper()
	var objs []client.Object
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	return fake.NewClientBuilder().WithScheme(runtime.NewScheme()).WithObjects(objs...).Build()
}

// read returns the object gvk namespace/name from c.
func read(t *testing.T, c client.Client, gvk schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// setStatus replaces the status of gvk namespace/name, as a controller would.
func setStatus(t *testing.T, c client.Client, gvk schema.GroupVersionKind, namespace, name, statusYAML string) {
	t.Helper()
	u := read(t, c, gvk, namespace, name)
	var st map[string]any
	if err := yaml.Unmarshal([]byte(statusYAML), &st); err != nil {
		t.Fatal(err)
	}
	u.Object["status"] = st
	if err := c.Update(context.Background(), u); err != nil {
		t.Fatal(err)
	}
}
