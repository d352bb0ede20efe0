package render

// placeHooks gives the Helm hooks among objs that name no namespace the
// environment's namespace where their kind is namespaced, as helm creates
// them in the release's namespace. Unlike setNamespaces it refuses nothing:
// most hooks never run (test, delete and rollback hooks), and one that
// does and whose kind the cluster lacks fails its apply, naming it.
func placeHooks(objs []Object, namespace string, scope Scoper) {
	if namespace == "" {
		return
	}
	for _, o := range objs {
		namespaced, err := scope.Namespaced(o.Object.GroupVersionKind())
		if err == nil && namespaced && o.Object.GetNamespace() == "" {
			o.Object.SetNamespace(namespace)
		}
	}
}
