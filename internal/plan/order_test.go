package plan

import (
	"reflect"
	"testing"
)

func TestSortChanges(t *testing.T) {
	refs := []Ref{
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "b", Name: "web"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "b", Name: "z"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "a", Name: "z"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "reader"},
		{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets.example.com"},
		{Version: "v1", Kind: "Namespace", Name: "b"},
		{Version: "v1", Kind: "Namespace", Name: "a"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "a", Name: "y"},
	}
	changes := make([]Change, len(refs))
	for i, r := range refs {
		changes[i] = Change{Ref: r}
	}
	sortChanges(changes)
	var got []string
	for _, c := range changes {
		got = append(got, c.Ref.String())
	}
	want := []string{
		"Namespace/a",
		"Namespace/b",
		"CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com",
		"ClusterRole.rbac.authorization.k8s.io/reader",
		"ConfigMap/a/y",
		"ConfigMap/a/z",
		"ConfigMap/b/z",
		"Deployment.apps/b/web",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n got %v\nwant %v", got, want)
	}
}
