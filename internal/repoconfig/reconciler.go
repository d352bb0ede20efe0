package repoconfig

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Reconciler kinds and their defaults.
const (
	FluxKustomization = "Kustomization"
	FluxHelmRelease   = "HelmRelease"

	DefaultFluxNamespace   = "flux-system"
	DefaultArgoCDNamespace = "argocd"
)

// Field managers the reconcilers apply with: a plan of an environment one of
// them applies dry-runs as that manager, so the diff shows what the
// reconciler will do, not a fight over field ownership.
const (
	FluxFieldManager     = "kustomize-controller"
	FluxHelmFieldManager = "helm-controller"
	ArgoCDFieldManager   = "argocd-controller"
)

// Reconciler names the in-cluster controller that applies an environment
// (exactly one of Flux and ArgoCD). slipway plans such an environment as
// usual but never applies it: after a merge it asks the reconciler to act
// and records what the reconciler reports as the environment's Deployment.
type Reconciler struct {
	Flux   *FluxRef   `yaml:"flux"`
	ArgoCD *ArgoCDRef `yaml:"argocd"`
}

// FluxRef is a Flux Kustomization or HelmRelease.
type FluxRef struct {
	Kind      string `yaml:"kind"`      // Kustomization (default) or HelmRelease
	Name      string `yaml:"name"`      // required
	Namespace string `yaml:"namespace"` // default flux-system
}

// ArgoCDRef is an Argo CD Application.
type ArgoCDRef struct {
	Application string `yaml:"application"` // required
	Namespace   string `yaml:"namespace"`   // default argocd
}

// Reconciled reports whether a reconciler, not slipway, applies env.
func (e *Environment) Reconciled() bool { return e.Reconciler != nil }

// FieldManager is the server-side apply field manager env's changes are
// applied with, which its plans dry-run as: the reconciler's, or "" for
// slipway's own.
func (e *Environment) FieldManager() string {
	switch {
	case e.Reconciler == nil:
		return ""
	case e.Reconciler.Flux != nil && e.Reconciler.Flux.Kind == FluxHelmRelease:
		return FluxHelmFieldManager
	case e.Reconciler.Flux != nil:
		return FluxFieldManager
	default:
		return ArgoCDFieldManager
	}
}

// String names the reconciler's object for people: "Flux Kustomization
// flux-system/apps", "Argo CD Application argocd/shop".
func (r *Reconciler) String() string {
	switch {
	case r == nil:
		return ""
	case r.Flux != nil:
		// Validation names it before defaults are filled in.
		return fmt.Sprintf("Flux %s %s/%s", orDefault(r.Flux.Kind, FluxKustomization), orDefault(r.Flux.Namespace, DefaultFluxNamespace), r.Flux.Name)
	case r.ArgoCD != nil:
		return fmt.Sprintf("Argo CD Application %s/%s", orDefault(r.ArgoCD.Namespace, DefaultArgoCDNamespace), r.ArgoCD.Application)
	}
	return ""
}

// validateReconciler reports each problem of e's reconciler through fail,
// with key the environment's key (environments[i]).
func validateReconciler(fail func(key, format string, args ...any), key string, e *Environment) {
	r := e.Reconciler
	if r == nil {
		return
	}
	rk := key + ".reconciler"
	switch {
	case r.Flux == nil && r.ArgoCD == nil:
		fail(rk, "name one reconciler: flux: {kind, name, namespace} or argocd: {application, namespace}")
		return
	case r.Flux != nil && r.ArgoCD != nil:
		fail(rk, "name one reconciler, flux or argocd, not both")
		return
	}
	if f := r.Flux; f != nil {
		oneOf(fail, rk+".flux.kind", f.Kind, FluxKustomization, FluxHelmRelease)
		objectName(fail, rk+".flux.name", f.Name, "the Flux "+orDefault(f.Kind, FluxKustomization)+" that applies this environment")
		namespaceName(fail, rk+".flux.namespace", f.Namespace)
	}
	if a := r.ArgoCD; a != nil {
		objectName(fail, rk+".argocd.application", a.Application, "the Argo CD Application that applies this environment")
		namespaceName(fail, rk+".argocd.namespace", a.Namespace)
	}
	// The reconciler applies after merge and repairs drift itself: slipway
	// applying too would fight it over the same objects.
	if e.Mode == ModeBeforeMerge {
		fail(key+".mode", "cannot be before-merge: %s applies this environment after merge, so slipway does not /apply it; leave mode out (on-merge)", r)
	}
	if e.Drift == DriftReconcile {
		fail(key+".drift", "cannot be reconcile: %s repairs drift itself; use report or off (the default for a reconciler)", r)
	}
}

func objectName(fail func(key, format string, args ...any), key, name, what string) {
	if name == "" {
		fail(key, "is required: %s", what)
		return
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		fail(key, "%q is not a valid object name: %s", name, strings.Join(errs, "; "))
	}
}

func namespaceName(fail func(key, format string, args ...any), key, ns string) {
	if ns == "" {
		return // defaulted
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		fail(key, "%q is not a valid namespace name: %s", ns, strings.Join(errs, "; "))
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fillReconcilerDefaults completes e's reconciler and sets what an
// environment a reconciler applies defaults to differently.
func fillReconcilerDefaults(e *Environment) {
	r := e.Reconciler
	if r == nil {
		return
	}
	if r.Flux != nil {
		r.Flux.Kind = orDefault(r.Flux.Kind, FluxKustomization)
		r.Flux.Namespace = orDefault(r.Flux.Namespace, DefaultFluxNamespace)
	}
	if r.ArgoCD != nil {
		r.ArgoCD.Namespace = orDefault(r.ArgoCD.Namespace, DefaultArgoCDNamespace)
	}
	if e.Drift == "" {
		e.Drift = DriftOff
	}
}
