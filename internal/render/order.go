package render

import (
	"cmp"
	"fmt"
	"slices"
)

// identity is what the cluster knows an object by. The version is not part
// of it: apps/v1 and apps/v1beta1 Deployments of one name are one object.
type identity struct {
	group, kind, namespace, name string
}

func identify(o Object) identity {
	gvk := o.Object.GroupVersionKind()
	return identity{gvk.Group, gvk.Kind, o.Object.GetNamespace(), o.Object.GetName()}
}

// rank puts what other objects need first: Namespaces, then CRDs, then the
// other objects without a namespace (cluster-scoped ones, once namespaces
// are defaulted), then the rest. internal/plan orders its changes the same way.
func rank(id identity) int {
	switch {
	case id.group == "" && id.kind == "Namespace":
		return 0
	case id.group == crdGroup && id.kind == "CustomResourceDefinition":
		return 1
	case id.namespace == "":
		return 2
	}
	return 3
}

// sortObjects orders objects by rank, group, kind, namespace and name,
// so a render does not depend on file or template order.
func sortObjects(objs []Object) {
	slices.SortStableFunc(objs, func(a, b Object) int {
		x, y := identify(a), identify(b)
		return cmp.Or(
			cmp.Compare(rank(x), rank(y)),
			cmp.Compare(x.group, y.group),
			cmp.Compare(x.kind, y.kind),
			cmp.Compare(x.namespace, y.namespace),
			cmp.Compare(x.name, y.name),
		)
	})
}

// checkDuplicates refuses two objects with one identity: one would silently
// overwrite the other on apply.
func checkDuplicates(objs []Object) error {
	seen := make(map[identity]Object, len(objs))
	for _, o := range objs {
		id := identify(o)
		first, dup := seen[id]
		if !dup {
			seen[id] = o
			continue
		}
		return &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf("%s is defined twice; the other is at %s", describe(o.Object), where(first))}
	}
	return nil
}

// where locates an object for a message.
func where(o Object) string {
	switch {
	case o.File == "":
		return "an earlier object of the render"
	case o.Line == 0:
		return o.File
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}
