package reconciler

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
)

// A HelmRelease whose chart comes from a HelmRepository or OCIRepository
// is applied in two steps: a Kustomization applies the HelmRelease (from
// this repository's path), then helm-controller installs its chart. The
// shapes read here are helm-controller's v2 API (fluxcd/helm-controller
// api/v2 and docs/spec/v2/helmreleases.md, "HelmRelease Status").

// The labels kustomize-controller puts on what it applies, naming the
// Kustomization (ssa.ResourceManager.SetOwnerLabels).
const (
	kustomizeNameLabel      = kustomizeGroup + "/name"
	kustomizeNamespaceLabel = kustomizeGroup + "/namespace"
)

var (
	helmRepositoryGVK = schema.GroupVersionKind{Group: sourceGroup, Version: "v1", Kind: render.KindHelmRepository}
	ociRepositoryGVK  = schema.GroupVersionKind{Group: sourceGroup, Version: "v1", Kind: render.KindOCIRepository}
	// chartSourceKinds are the chart sources a HelmRelease may name that
	// slipway reads, by kind.
	chartSourceKinds = map[string]schema.GroupVersionKind{render.KindHelmRepository: helmRepositoryGVK, render.KindOCIRepository: ociRepositoryGVK}
)

// releaseFailed are the reasons of a HelmRelease's Ready=False after a
// Helm action failed (docs/spec/v2/helmreleases.md, "Failed HelmRelease"):
// its attempt at the current spec is over.
var releaseFailed = []string{"InstallFailed", "UpgradeFailed", "TestFailed", "RollbackSucceeded", "RollbackFailed", "UninstallSucceeded", "UninstallFailed"}

// chartFromSource reports whether obj is a HelmRelease whose chart comes
// from a chart source (spec.chartRef, or spec.chart.spec.sourceRef of any
// kind but a GitRepository) rather than from this repository.
func chartFromSource(obj *unstructured.Unstructured) bool {
	if obj.GetKind() != "HelmRelease" {
		return false
	}
	if _, ok, _ := unstructured.NestedMap(obj.Object, "spec", "chartRef"); ok {
		return true
	}
	kind, _, _ := unstructured.NestedString(obj.Object, "spec", "chart", "spec", "sourceRef", "kind")
	return kind != fluxGitRepositoryKey
}

// appliedBy is the Kustomization that applies hr (named by the labels
// kustomize-controller puts on it) and its GitRepository, once it is sure
// that Kustomization applies this repository's environment path: the
// "deploys this repository" check of a HelmRelease from a chart source.
func (f *flux) appliedBy(ctx context.Context, hr *unstructured.Unstructured) (ks, repo *unstructured.Unstructured, err error) {
	name, ns := hr.GetLabels()[kustomizeNameLabel], hr.GetLabels()[kustomizeNamespaceLabel]
	if name == "" || ns == "" {
		return nil, nil, fmt.Errorf("%s has no %s and %s labels: slipway follows a HelmRelease whose chart comes from a chart source only when a Flux Kustomization of this repository applies it from the environment's path", f.Object(), kustomizeNameLabel, kustomizeNamespaceLabel)
	}
	ks, err = get(ctx, f.c, kustomizationGVK, ns, name, "Flux Kustomization")
	if err != nil {
		return nil, nil, err
	}
	what := fmt.Sprintf("Flux Kustomization %s/%s (which applies %s)", ns, name, f.Object())
	repo, err = f.deploysThisRepo(ctx, ks, what)
	if err != nil {
		return nil, nil, err
	}
	return ks, repo, nil
}

// requestRelease asks Flux to act on a merge for a HelmRelease from a
// chart source: the GitRepository fetches the commit, the Kustomization
// applies it, and the chart source looks again. The HelmRelease itself is
// asked once the Kustomization has applied the commit (observeRelease):
// only then does it hold the commit's spec and values.
func (f *flux) requestRelease(ctx context.Context, hr *unstructured.Unstructured) (string, error) {
	ks, repo, err := f.appliedBy(ctx, hr)
	if err != nil {
		return "", err
	}
	token := newToken()
	for _, obj := range []*unstructured.Unstructured{repo, ks, f.chartSource(ctx, hr)} {
		if obj == nil {
			continue
		}
		if err := annotate(ctx, f.c, obj, fluxRequestedAt, token); err != nil {
			return "", err
		}
	}
	return token, nil
}

// chartSource is the live HelmRepository or OCIRepository hr takes its
// chart from; nil when there is none yet (the merge may add it) or it
// cannot be read: asking it to look again only saves time.
func (f *flux) chartSource(ctx context.Context, hr *unstructured.Unstructured) *unstructured.Unstructured {
	ref := []string{"spec", "chart", "spec", "sourceRef"}
	if _, ok, _ := unstructured.NestedMap(hr.Object, "spec", "chartRef"); ok {
		ref = []string{"spec", "chartRef"}
	}
	kind, _, _ := unstructured.NestedString(hr.Object, append(ref, "kind")...)
	name, _, _ := unstructured.NestedString(hr.Object, append(ref, "name")...)
	ns, _, _ := unstructured.NestedString(hr.Object, append(ref, "namespace")...)
	gvk := chartSourceKinds[kind]
	if gvk.Kind == "" || name == "" {
		return nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: cmp.Or(ns, hr.GetNamespace()), Name: name}, u); err != nil {
		return nil
	}
	return u
}

// observeRelease reads a HelmRelease from a chart source in its two
// steps. First the Kustomization: its failure at a commit is the
// release's. Once it has applied a commit, the HelmRelease is asked to
// reconcile (requestedAt TOKEN/COMMIT, so each commit applied is asked
// once), and the commit counts as applied when helm-controller has handled
// that request and reports the release Ready for the current generation,
// at the chart version the spec (or its OCIRepository's tag) names.
func (f *flux) observeRelease(ctx context.Context, hr *unstructured.Unstructured, token string) (Observation, error) {
	ks, _, err := f.appliedBy(ctx, hr)
	if err != nil {
		return Observation{}, err
	}
	ksName := fmt.Sprintf("Kustomization %s/%s", ks.GetNamespace(), ks.GetName())
	ready, current := fluxReady(ks)
	var o Observation
	attempted, _, _ := unstructured.NestedString(ks.Object, "status", "lastAttemptedRevision")
	applied, _, _ := unstructured.NestedString(ks.Object, "status", "lastAppliedRevision")
	switch {
	case !current:
		o.Message = ksName + " has not seen its latest spec yet"
		return o, nil
	case ready.status == "False":
		o.Attempted, o.Failed, o.Message = fluxCommit(attempted), true, ksName+": "+ready.message
		return o, nil
	case ready.status != "True" || applied == "":
		o.Message = ksName + ": " + orNone(ready.message)
		return o, nil
	}
	commit := fluxCommit(applied)
	asked := token + "/" + commit
	if hr.GetAnnotations()[fluxRequestedAt] != asked {
		if err := annotate(ctx, f.c, hr, fluxRequestedAt, asked); err != nil {
			return o, err
		}
		o.Message = fmt.Sprintf("%s applied %s; asked helm-controller to release it", ksName, short(commit))
		return o, nil
	}
	if handled, _, _ := unstructured.NestedString(hr.Object, "status", "lastHandledReconcileAt"); handled != asked {
		o.Message = fmt.Sprintf("%s applied %s; waiting for helm-controller", ksName, short(commit))
		return o, nil
	}
	return f.releaseStatus(ctx, hr, commit)
}

// releaseStatus is what helm-controller reports of hr, whose spec is
// commit's.
func (f *flux) releaseStatus(ctx context.Context, hr *unstructured.Unstructured, commit string) (Observation, error) {
	var o Observation
	want, err := f.chartVersion(ctx, hr)
	if err != nil {
		return o, err
	}
	cond := conditionOf(hr, fluxReadyCondition)
	stalled := conditionOf(hr, "Stalled")
	gen := hr.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(hr.Object, "status", "observedGeneration")
	lastGen, _, _ := unstructured.NestedInt64(hr.Object, "status", "lastAttemptedGeneration")
	revision, _, _ := unstructured.NestedString(hr.Object, "status", "lastAttemptedRevision")
	o.Message = cond.message
	// A condition without observedGeneration (older helm-controllers) is
	// taken as the status's.
	condCurrent := cond.generation == 0 || cond.generation == gen
	atVersion := want == "" || revision == want || strings.HasPrefix(revision, want+"+") // OCIRepository: VERSION+DIGEST
	switch {
	case cond.status == "True" && observed == gen && condCurrent && atVersion && deployed(hr, want):
		o.Applied = commit
	case cond.status == "False" && (condCurrent || lastGen == gen) && atVersion && (slices.Contains(releaseFailed, cond.reason) || stalled.status == "True"):
		o.Attempted, o.Failed = commit, true
	default:
		o.Message = fmt.Sprintf("helm-controller has not released chart version %s yet (last attempted %s): %s", orNone(want), orNone(revision), orNone(cond.message))
	}
	return o, nil
}

// deployed reports whether the newest release in hr's history (when it
// keeps one) is want's and deployed.
func deployed(hr *unstructured.Unstructured, want string) bool {
	history, _, _ := unstructured.NestedSlice(hr.Object, "status", "history")
	if len(history) == 0 {
		return true
	}
	latest, _ := history[0].(map[string]any)
	version, _ := latest["chartVersion"].(string)
	status, _ := latest["status"].(string)
	return status == "deployed" && (want == "" || version == want || strings.HasPrefix(version, want+"+"))
}

// chartVersion is the chart version hr's spec names: spec.chart.spec.version,
// or the tag of the OCIRepository spec.chartRef names ("" when that says
// no tag).
func (f *flux) chartVersion(ctx context.Context, hr *unstructured.Unstructured) (string, error) {
	if _, ok, _ := unstructured.NestedMap(hr.Object, "spec", "chartRef"); !ok {
		v, _, _ := unstructured.NestedString(hr.Object, "spec", "chart", "spec", "version")
		return v, nil
	}
	src := f.chartSource(ctx, hr)
	if src == nil {
		return "", fmt.Errorf("read the OCIRepository %s takes its chart from (check that slipway may get ocirepositories)", f.Object())
	}
	tag, _, _ := unstructured.NestedString(src.Object, "spec", "ref", "tag")
	return tag, nil
}

type objCondition struct {
	condition
	generation int64
}

// conditionOf is obj's condition of type t, with the generation it was
// set for.
func conditionOf(obj *unstructured.Unstructured, t string) objCondition {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != t {
			continue
		}
		s, _ := m["status"].(string)
		r, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		gen, _, _ := unstructured.NestedInt64(m, "observedGeneration")
		return objCondition{condition{status: s, reason: r, message: msg}, gen}
	}
	return objCondition{condition: condition{status: "Unknown"}}
}

// releaseMarks adds to marks what the live HelmRelease hr released
// before (status.inventory), which Helm deletes once a release no longer
// renders it, unless annotated helm.sh/resource-policy: keep; only for a
// HelmRelease from a chart source that a Kustomization of this repository
// applies from the environment's path. One whose chart is in the
// repository adds nothing, as before.
func (f *flux) releaseMarks(ctx context.Context, hr *unstructured.Unstructured, marks plan.Marks) (plan.Marks, error) {
	if !chartFromSource(hr) {
		return marks, nil
	}
	if _, _, err := f.appliedBy(ctx, hr); err != nil {
		return marks, err
	}
	marks.Owned = inventory(hr)
	marks.Kept = func(live *unstructured.Unstructured) string {
		if live.GetAnnotations()[helmResourcePolicy] == "keep" {
			return "kept: no longer rendered; annotated " + helmResourcePolicy + ": keep, so Helm leaves it in the cluster"
		}
		return ""
	}
	return marks, nil
}

// helmResourcePolicy: keep makes Helm leave an object when a release no
// longer renders it.
const helmResourcePolicy = "helm.sh/resource-policy"

// LookupSource reads the chart source a HelmRelease names from the
// cluster, for a plan whose path does not hold it: its spec only (where
// the chart is; the server config, not the source, decides whether
// slipway may fetch from there, and with which credentials).
func (f *flux) LookupSource(ctx context.Context, ref render.SourceRef) (render.FluxSource, error) {
	gvk := chartSourceKinds[ref.Kind]
	if gvk.Kind == "" {
		return render.FluxSource{}, fmt.Errorf("%s is not a chart source slipway reads", ref)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err := f.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, u)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return render.FluxSource{}, fmt.Errorf("the HelmRelease takes its chart from Flux %s, which is neither in the environment's path nor in the cluster: add it to the path", ref)
	case err != nil:
		return render.FluxSource{}, fmt.Errorf("read Flux %s: %w (check that slipway may get it)", ref, err)
	}
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	return render.FluxSource{SourceRef: ref, Spec: spec}, nil
}
