package plan

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// rank groups refs in the order apply must create them: Namespaces and CRDs
// before anything that may live in them or be of their kinds, then the rest
// of the cluster-scoped objects (ClusterRoles, webhooks, classes) before the
// namespaced ones.
func rank(r Ref) int {
	switch {
	case r.Group == "" && r.Kind == "Namespace":
		return 0
	case r.Group == "apiextensions.k8s.io" && r.Kind == "CustomResourceDefinition":
		return 1
	case r.Namespace == "":
		return 2
	default:
		return 3
	}
}

func refLess(a, b Ref) bool {
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// sortChanges puts changes in plan order; stable, so an object rendered
// twice keeps its render order.
func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool { return refLess(cs[i].Ref, cs[j].Ref) })
}

func refOf(u *unstructured.Unstructured) Ref {
	gvk := u.GroupVersionKind()
	return Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// String formats r as kubectl names objects: kind.group/namespace/name.
func (r Ref) String() string {
	s := r.Kind
	if r.Group != "" {
		s += "." + r.Group
	}
	if r.Namespace != "" {
		s += "/" + r.Namespace
	}
	return s + "/" + r.Name
}
