package reconciler

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// A HelmRelease the merge adds does not exist when slipway asks Flux to
// act, so no labels name the Kustomization that will apply it. slipway
// then asks the one Kustomization that applies this repository at the
// environment's path, and waits for it to create the HelmRelease; from
// there the HelmRelease is followed as any other (and its labels must
// name a Kustomization of this repository's path, as always).

// missingRelease reports whether err says f's HelmRelease does not exist.
func (f *flux) missingRelease(err error) bool {
	return f.ref.Kind == repoconfig.FluxHelmRelease && apierrors.IsNotFound(err)
}

// pathApplier is the Kustomization that applies this repository at the
// environment's path, and its GitRepository; nil when none does. Several
// are an error: slipway would not know which one creates the HelmRelease.
func (f *flux) pathApplier(ctx context.Context) (ks, repo *unstructured.Unstructured, err error) {
	all, err := list(ctx, f.c, kustomizationGVK)
	if err != nil {
		return nil, nil, fmt.Errorf("%s does not exist yet, and slipway cannot list the Kustomizations to find the one that creates it: %w (give slipway list on kustomizations)", f.Object(), err)
	}
	var names []string
	for i := range all {
		cand := &all[i]
		p, _, _ := unstructured.NestedString(cand.Object, "spec", "path")
		kind, _, _ := unstructured.NestedString(cand.Object, "spec", "sourceRef", "kind")
		if kind != fluxGitRepositoryKey || cleanPath(p) != cleanPath(f.path) {
			continue
		}
		r, err := f.deploysThisRepo(ctx, cand, "Flux Kustomization "+cand.GetNamespace()+"/"+cand.GetName())
		if err != nil {
			continue // another repository's, or unreadable: not this environment's
		}
		ks, repo = cand, r
		names = append(names, cand.GetNamespace()+"/"+cand.GetName())
	}
	if len(names) > 1 {
		return nil, nil, fmt.Errorf("%s does not exist yet, and several Flux Kustomizations apply this repository at %s (%s): slipway cannot tell which one creates it", f.Object(), f.path, strings.Join(names, ", "))
	}
	return ks, repo, nil
}

// requestNew asks the GitRepository and the Kustomization that will
// create f's HelmRelease to reconcile; missing is the error of reading the
// HelmRelease, returned when no Kustomization of this path is found.
func (f *flux) requestNew(ctx context.Context, missing error) (string, error) {
	ks, repo, err := f.pathApplier(ctx)
	if err != nil {
		return "", err
	}
	if ks == nil {
		return "", missing
	}
	token := newToken()
	for _, obj := range []*unstructured.Unstructured{repo, ks} {
		if err := annotate(ctx, f.c, obj, fluxRequestedAt, token); err != nil {
			return "", err
		}
	}
	return token, nil
}

// observeNew reads the Kustomization that is to create f's HelmRelease:
// its failure at a commit is the release's; else slipway waits.
func (f *flux) observeNew(ctx context.Context, missing error) (Observation, error) {
	ks, _, err := f.pathApplier(ctx)
	if err != nil {
		return Observation{}, err
	}
	if ks == nil {
		return Observation{}, missing
	}
	name := fmt.Sprintf("Kustomization %s/%s", ks.GetNamespace(), ks.GetName())
	ready, current := fluxReady(ks)
	if current && ready.status == "False" {
		attempted, _, _ := unstructured.NestedString(ks.Object, "status", "lastAttemptedRevision")
		return Observation{Attempted: fluxCommit(attempted), Failed: true, Message: name + ": " + ready.message}, nil
	}
	return Observation{Message: fmt.Sprintf("waiting for %s to create %s", name, f.Object())}, nil
}
