package plan

import (
	"fmt"
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

// onCores runs every index once, and its error is the lowest failing
// index's, whichever goroutine met it first.
func TestOnCores(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 1000} {
		seen := make([]int32, n)
		if err := onCores(n, func(i int) error { seen[i]++; return nil }); err != nil {
			t.Fatal(err)
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: index %d ran %d times", n, i, c)
			}
		}
	}
	for range 20 {
		err := onCores(1000, func(i int) error {
			if i == 301 || i == 700 || i == 999 {
				return fmt.Errorf("item %d", i)
			}
			return nil
		})
		if err == nil || err.Error() != "item 301" {
			t.Fatalf("error %v, want item 301's", err)
		}
	}
}
