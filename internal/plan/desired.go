package plan

import (
	"fmt"

	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// defaultNamespace is where a namespaced object goes when neither it nor its
// environment names a namespace, as with kubectl.
const defaultNamespace = "default"

// item is one rendered object on its way through the plan.
type item struct {
	src     render.Object
	ref     Ref
	key     objectKey
	ignored []string // JSON pointers the environment ignores for it
	// desired is what slipway sends: the rendered object with the
	// environment's namespace, the ApplySet label and ignored paths removed
	// (and, after the dry-run, ignored fields that must stay, kept).
	desired *unstructured.Unstructured

	prepErr error // no dry-run was possible
	noKind  bool  // because the cluster has no such kind (yet)

	// local is set when the object was decided unchanged from its listed
	// live state, without a dry-run (see Engine.settler); live and dryRun
	// are then nil.
	local bool

	// Filled by the dry-run.
	dryRun   *unstructured.Unstructured // the server's answer; nil on error
	live     *unstructured.Unstructured // nil when absent
	err      error                      // the server refused the dry-run
	warnings warnings                   // the server's warnings on the dry-run

	// made is its plan entry, once made (see Engine.compute); live and
	// dryRun are then nil.
	made    *entry
	madeErr error
}

// planned describes the CRDs and Namespaces a render brings, for objects that
// cannot be dry-run until those exist.
type planned struct {
	crds       map[schema.GroupKind]plannedCRD
	namespaces map[string]bool
}

type plannedCRD struct {
	name       string
	namespaced bool
}

func plannedBy(objects []render.Object) planned {
	p := planned{crds: map[schema.GroupKind]plannedCRD{}, namespaces: map[string]bool{}}
	for _, o := range objects {
		u := o.Object
		switch {
		case utils.IsNamespace(u):
			p.namespaces[u.GetName()] = true
		case utils.IsCRD(u):
			group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
			scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
			p.crds[schema.GroupKind{Group: group, Kind: kind}] = plannedCRD{name: u.GetName(), namespaced: scope != "Cluster"}
		}
	}
	return p
}

// prepare turns rendered objects into items ready for their dry-run. Mapping
// each kind once here, not per request, keeps a kind the cluster lacks from
// costing a discovery round trip per object.
func (e *Engine) prepare(env *repoconfig.Environment, objects []render.Object, pl planned, applySetID string) []*item {
	type mapped struct {
		m   *meta.RESTMapping
		err error
	}
	mappings := map[schema.GroupVersionKind]mapped{}
	seen := map[objectKey]render.Object{}
	items := make([]*item, 0, len(objects))
	for _, o := range objects {
		u := o.Object.DeepCopy()
		gvk := u.GroupVersionKind()
		mp, ok := mappings[gvk]
		if !ok {
			mp.m, mp.err = e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			mappings[gvk] = mp
		}
		it := &item{src: o}
		scoped := false // whether the object's namespace is final
		switch {
		case mp.err == nil:
			setNamespace(u, mp.m.Scope.Name() == meta.RESTScopeNameNamespace, env)
			scoped = true
		case meta.IsNoMatchError(mp.err):
			it.noKind = true
			it.prepErr = fmt.Errorf("the cluster has no %s in %s: install its CustomResourceDefinition first, or add it to this environment", gvk.Kind, gvk.GroupVersion())
			if crd, ok := pl.crds[gvk.GroupKind()]; ok {
				setNamespace(u, crd.namespaced, env)
				scoped = true
			}
		default:
			it.prepErr = fmt.Errorf("look up %s: %w", gvk, mp.err)
		}
		it.ref, it.key = refOf(u), keyOf(u)
		if first, dup := seen[it.key]; dup {
			it.prepErr, it.noKind = fmt.Errorf("%s is rendered twice: also in %s", it.ref, location(first)), false
		} else {
			seen[it.key] = o
		}
		if scoped && e.admit != nil {
			if err := e.admit(it.ref); err != nil {
				// Refused before anything is sent: not even a dry-run
				// reaches a namespace or kind the server config forbids.
				it.prepErr, it.noKind = err, false
			}
		}
		e.mark(u, it.ref, applySetID)
		utils.RemoveCABundleFromCRD(u)
		if isSecret(u) {
			foldStringData(u)
		}
		it.ignored = ignoredPaths(env.Ignore, it.ref)
		if err := removePaths(u, it.ignored); err != nil && it.prepErr == nil {
			it.prepErr = err
		}
		it.desired = u
		// An object JSON cannot carry (a NaN from YAML's .nan) is this
		// object's error, not the whole plan's.
		if _, err := canonicalJSON(u); err != nil && it.prepErr == nil {
			it.prepErr = err
		}
		items = append(items, it)
	}
	return items
}

// setNamespace gives a namespaced object without one the environment's
// namespace, and takes the namespace off a cluster-scoped object, so that
// objects are keyed the way the apiserver stores them.
func setNamespace(u *unstructured.Unstructured, namespaced bool, env *repoconfig.Environment) {
	switch {
	case !namespaced:
		u.SetNamespace("")
	case u.GetNamespace() == "" && env.Namespace != "":
		u.SetNamespace(env.Namespace)
	case u.GetNamespace() == "":
		u.SetNamespace(defaultNamespace)
	}
}

func location(o render.Object) string {
	switch {
	case o.File == "":
		return "the render"
	case o.Line == 0:
		return o.File
	default:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
}
