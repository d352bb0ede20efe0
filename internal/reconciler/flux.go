package reconciler

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Flux's API groups and the annotation that asks a Flux object to reconcile
// now (fluxcd/pkg/apis/meta ReconcileRequestAnnotation): the controller
// records the value it handled in status.lastHandledReconcileAt.
const (
	kustomizeGroup       = "kustomize.toolkit.fluxcd.io"
	helmGroup            = "helm.toolkit.fluxcd.io"
	sourceGroup          = "source.toolkit.fluxcd.io"
	fluxRequestedAt      = "reconcile.fluxcd.io/requestedAt"
	fluxPruneAnnotation  = "kustomize.toolkit.fluxcd.io/prune"
	fluxReadyCondition   = "Ready"
	fluxGitRepositoryKey = "GitRepository"
)

var (
	kustomizationGVK = schema.GroupVersionKind{Group: kustomizeGroup, Version: "v1", Kind: repoconfig.FluxKustomization}
	helmReleaseGVK   = schema.GroupVersionKind{Group: helmGroup, Version: "v2", Kind: repoconfig.FluxHelmRelease}
	gitRepositoryGVK = schema.GroupVersionKind{Group: sourceGroup, Version: "v1", Kind: fluxGitRepositoryKey}
)

// flux is a Flux Kustomization or HelmRelease and its GitRepository.
type flux struct {
	c          client.Client
	ref        repoconfig.FluxRef
	path, repo string
}

func (f *flux) Object() string {
	return fmt.Sprintf("Flux %s %s/%s", f.ref.Kind, f.ref.Namespace, f.ref.Name)
}

// PlanMarks adds to Marks the Kustomization's inventory
// (status.inventory.entries, ids NAMESPACE_NAME_GROUP_KIND) and its prune
// rules: spec.prune, and the kustomize.toolkit.fluxcd.io/prune: disabled
// annotation on an object. A HelmRelease from a chart source adds its own
// inventory (Helm deletes what a release no longer renders); one whose
// chart is in the repository adds nothing.
func (f *flux) PlanMarks(ctx context.Context) (plan.Marks, error) {
	marks := Marks(f.env())
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(f.gvk())
	err := f.c.Get(ctx, client.ObjectKey{Namespace: f.ref.Namespace, Name: f.ref.Name}, u)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return marks, nil
	case err != nil:
		return marks, fmt.Errorf("read %s for its inventory: %w (check that slipway may get it)", f.Object(), err)
	}
	if f.ref.Kind == repoconfig.FluxHelmRelease {
		return f.releaseMarks(ctx, u, marks)
	}
	if _, err := f.deploysThisRepo(ctx, u, f.Object()); err != nil {
		return marks, err
	}
	marks.Owned = inventory(u)
	prune, _, _ := unstructured.NestedBool(u.Object, "spec", "prune")
	marks.Kept = func(live *unstructured.Unstructured) string {
		switch {
		case live.GetAnnotations()[fluxPruneAnnotation] == "disabled":
			return "kept: no longer rendered; annotated " + fluxPruneAnnotation + ": disabled, so Flux leaves it in the cluster"
		case !prune:
			return "kept: no longer rendered; " + f.Object() + " has prune: false, so Flux leaves it in the cluster"
		}
		return ""
	}
	return marks, nil
}

// inventory is the objects obj's status.inventory.entries list (ids
// NAMESPACE_NAME_GROUP_KIND), as Flux's Kustomization and HelmRelease
// report them.
func inventory(obj *unstructured.Unstructured) []plan.Ref {
	var refs []plan.Ref
	entries, _, _ := unstructured.NestedSlice(obj.Object, "status", "inventory", "entries")
	for _, e := range entries {
		m, _ := e.(map[string]any)
		id, _ := m["id"].(string)
		v, _ := m["v"].(string)
		parts := strings.Split(id, "_")
		if len(parts) != 4 || v == "" {
			continue
		}
		refs = append(refs, plan.Ref{Namespace: parts[0], Name: parts[1], Group: parts[2], Kind: parts[3], Version: v})
	}
	return refs
}

// env is the environment f stands for, as Marks reads it.
func (f *flux) env() *repoconfig.Environment {
	ref := f.ref
	return &repoconfig.Environment{Path: f.path, Reconciler: &repoconfig.Reconciler{Flux: &ref}}
}

func (f *flux) gvk() schema.GroupVersionKind {
	if f.ref.Kind == repoconfig.FluxHelmRelease {
		return helmReleaseGVK
	}
	return kustomizationGVK
}

// Request annotates the GitRepository (so it fetches the new commit) and
// then the Kustomization or HelmRelease with reconcile.fluxcd.io/requestedAt,
// as `flux reconcile --with-source` does.
func (f *flux) Request(ctx context.Context, commit string) (string, error) {
	obj, err := get(ctx, f.c, f.gvk(), f.ref.Namespace, f.ref.Name, "Flux "+f.ref.Kind)
	if f.missingRelease(err) {
		return f.requestNew(ctx, err)
	}
	if err != nil {
		return "", err
	}
	if chartFromSource(obj) {
		return f.requestRelease(ctx, obj)
	}
	repo, err := f.deploysThisRepo(ctx, obj, f.Object())
	if err != nil {
		return "", err
	}
	token := newToken()
	if err := annotate(ctx, f.c, repo, fluxRequestedAt, token); err != nil {
		return "", err
	}
	if err := annotate(ctx, f.c, obj, fluxRequestedAt, token); err != nil {
		return "", err
	}
	return token, nil
}

// deploysThisRepo returns the GitRepository obj (named what, for people)
// takes its files from, once it is sure that obj applies this repository's
// environment path: slipway neither triggers nor plans against a
// reconciler that deploys anything else (another team's, read through a
// name in .slipway.yaml).
func (f *flux) deploysThisRepo(ctx context.Context, obj *unstructured.Unstructured, what string) (*unstructured.Unstructured, error) {
	src, srcPath, err := f.sourceOf(obj)
	if err != nil {
		return nil, err
	}
	repo, err := get(ctx, f.c, gitRepositoryGVK, src.Namespace, src.Name, "Flux GitRepository")
	if err != nil {
		return nil, err
	}
	url, _, _ := unstructured.NestedString(repo.Object, "spec", "url")
	if err := checkSource(what, url, f.repo, srcPath, f.path); err != nil {
		return nil, err
	}
	return repo, nil
}

// sourceOf is the GitRepository obj takes its files from, and the path in
// it obj applies.
func (f *flux) sourceOf(obj *unstructured.Unstructured) (client.ObjectKey, string, error) {
	refPath := []string{"spec", "sourceRef"}
	var p string
	if obj.GetKind() == repoconfig.FluxHelmRelease {
		// A chart in the repository is spec.chart.spec.chart, a path; one
		// from a chart source is followed through the Kustomization that
		// applies the HelmRelease (fluxhelm.go).
		refPath = []string{"spec", "chart", "spec", "sourceRef"}
		p, _, _ = unstructured.NestedString(obj.Object, "spec", "chart", "spec", "chart")
	} else {
		p, _, _ = unstructured.NestedString(obj.Object, "spec", "path")
	}
	kind, _, _ := unstructured.NestedString(obj.Object, append(refPath, "kind")...)
	name, _, _ := unstructured.NestedString(obj.Object, append(refPath, "name")...)
	ns, _, _ := unstructured.NestedString(obj.Object, append(refPath, "namespace")...)
	if kind != fluxGitRepositoryKey || name == "" {
		return client.ObjectKey{}, "", fmt.Errorf("Flux %s %s/%s takes its source from %s %q, not a GitRepository: slipway follows Flux objects that deploy from this repository through a GitRepository", obj.GetKind(), obj.GetNamespace(), obj.GetName(), orNone(kind), name)
	}
	if ns == "" {
		ns = obj.GetNamespace()
	}
	return client.ObjectKey{Namespace: ns, Name: name}, p, nil
}

// Observe reads the Kustomization's (or HelmRelease's) status as
// kustomize-controller documents it: lastAppliedRevision and
// lastAttemptedRevision ("main@sha1:<commit>"), and the Ready condition for
// the current generation. A HelmRelease reports chart versions, not
// commits, so for it the commit counts as applied once the release is
// Ready after handling this request (lastHandledReconcileAt is the token).
func (f *flux) Observe(ctx context.Context, token string) (Observation, error) {
	obj, err := get(ctx, f.c, f.gvk(), f.ref.Namespace, f.ref.Name, "Flux "+f.ref.Kind)
	if f.missingRelease(err) {
		return f.observeNew(ctx, err)
	}
	if err != nil {
		return Observation{}, err
	}
	if chartFromSource(obj) {
		return f.observeRelease(ctx, obj, token)
	}
	ready, current := fluxReady(obj)
	var o Observation
	o.Message = ready.message
	if !current {
		o.Message = "waiting for the controller to see the latest spec"
		return o, nil
	}
	if f.ref.Kind == repoconfig.FluxHelmRelease {
		handled, _, _ := unstructured.NestedString(obj.Object, "status", "lastHandledReconcileAt")
		if handled != token {
			return o, nil
		}
		commit := f.requestedCommit(ctx, obj)
		switch ready.status {
		case "True":
			o.Applied = commit
		case "False":
			o.Attempted, o.Failed = commit, true
		}
		return o, nil
	}
	applied, _, _ := unstructured.NestedString(obj.Object, "status", "lastAppliedRevision")
	attempted, _, _ := unstructured.NestedString(obj.Object, "status", "lastAttemptedRevision")
	o.Attempted = fluxCommit(attempted)
	if ready.status == "True" {
		o.Applied = fluxCommit(applied)
	}
	o.Failed = ready.status == "False"
	return o, nil
}

// requestedCommit is the commit the HelmRelease's GitRepository has as its
// artifact: what the release was just reconciled from.
func (f *flux) requestedCommit(ctx context.Context, obj *unstructured.Unstructured) string {
	src, _, err := f.sourceOf(obj)
	if err != nil {
		return ""
	}
	repo, err := get(ctx, f.c, gitRepositoryGVK, src.Namespace, src.Name, "Flux GitRepository")
	if err != nil {
		return ""
	}
	rev, _, _ := unstructured.NestedString(repo.Object, "status", "artifact", "revision")
	return fluxCommit(rev)
}

// newToken is a reconcile.fluxcd.io/requestedAt value, as `flux
// reconcile` writes it: the time of the request.
func newToken() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// fluxCommit is the commit in a Flux revision: "main@sha1:<sha>" (Flux 2.x),
// "sha1:<sha>" or "main/<sha>" (older); "" for none.
func fluxCommit(rev string) string {
	if i := strings.LastIndex(rev, "sha1:"); i >= 0 {
		return rev[i+len("sha1:"):]
	}
	if i := strings.LastIndex(rev, "/"); i >= 0 {
		return rev[i+1:]
	}
	return rev
}

type condition struct{ status, reason, message string }

// fluxReady is obj's Ready condition, and whether obj's status speaks of
// its current spec (status.observedGeneration, else the condition's own).
func fluxReady(obj *unstructured.Unstructured) (condition, bool) {
	ready := conditionOf(obj, fluxReadyCondition)
	observed, found, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	if !found {
		observed = ready.generation
	}
	return ready.condition, observed >= obj.GetGeneration()
}
