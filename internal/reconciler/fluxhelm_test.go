package reconciler

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// A HelmRelease from a HelmRepository, applied by the Kustomization apps
// (the labels kustomize-controller puts on what it applies), in the shapes
// of helm-controller's v2 API (docs/spec/v2/helmreleases.md).
const fluxHelmRelease = `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: flux-system
  generation: 2
  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}
spec:
  interval: 10m
  chart:
    spec: {chart: web, version: 1.4.3, sourceRef: {kind: HelmRepository, name: charts}}
`

const fluxHelmRepository = `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec: {interval: 1h, url: "https://charts.example.com"}
`

func helmReleaseEnv() *repoconfig.Environment {
	return &repoconfig.Environment{Name: "web", Path: "clusters/prod", Reconciler: &repoconfig.Reconciler{
		Flux: &repoconfig.FluxRef{Kind: repoconfig.FluxHelmRelease, Name: "web", Namespace: "flux-system"}}}
}

// On merge slipway asks the GitRepository, the Kustomization that applies
// the HelmRelease and its chart source to look again; the HelmRelease is
// asked only once the Kustomization applied the commit.
func TestHelmReleaseRequest(t *testing.T) {
	c := fakeCluster(t, fluxHelmRelease, fluxKustomization, gitRepository("https://github.com/acme/shop"), fluxHelmRepository)
	r, _ := New(c, helmReleaseEnv(), "acme/shop")
	token, err := r.Request(context.Background(), commitA)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		gvk  func() *unstructured.Unstructured
		want string
	}{
		{func() *unstructured.Unstructured { return read(t, c, gitRepositoryGVK, "flux-system", "shop") }, token},
		{func() *unstructured.Unstructured { return read(t, c, kustomizationGVK, "flux-system", "apps") }, token},
		{func() *unstructured.Unstructured { return read(t, c, helmRepositoryGVK, "flux-system", "charts") }, token},
		{func() *unstructured.Unstructured { return read(t, c, helmReleaseGVK, "flux-system", "web") }, ""},
	} {
		u := o.gvk()
		if got := u.GetAnnotations()[fluxRequestedAt]; got != o.want {
			t.Errorf("%s %s annotated %q, want %q", u.GetKind(), u.GetName(), got, o.want)
		}
	}
}

// The "deploys this repository" check of a HelmRelease from a chart
// source is its Kustomization's: this repository, at the environment's
// path; else nothing is touched, and a plan is refused too.
func TestHelmReleaseRefusesOtherSources(t *testing.T) {
	tests := []struct{ name, hr, ks, repo, want string }{
		{"no kustomization labels", strings.Replace(fluxHelmRelease, "  labels:", "  x:", 1), fluxKustomization, gitRepository("https://github.com/acme/shop"),
			"has no kustomize.toolkit.fluxcd.io/name and kustomize.toolkit.fluxcd.io/namespace labels"},
		{"another repository", fluxHelmRelease, fluxKustomization, gitRepository("https://github.com/acme/payments"),
			"Flux Kustomization flux-system/apps (which applies Flux HelmRelease flux-system/web) deploys from https://github.com/acme/payments, not from acme/shop"},
		{"another path", fluxHelmRelease, strings.Replace(fluxKustomization, "./clusters/prod", "./clusters/other", 1), gitRepository("https://github.com/acme/shop"),
			`applies the path "./clusters/other", but the environment's path is "clusters/prod"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCluster(t, tt.hr, tt.ks, tt.repo, fluxHelmRepository)
			r, _ := New(c, helmReleaseEnv(), "acme/shop")
			if _, err := r.Request(context.Background(), commitA); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Request: %v, want %q", err, tt.want)
			}
			for _, u := range []*unstructured.Unstructured{read(t, c, gitRepositoryGVK, "flux-system", "shop"), read(t, c, kustomizationGVK, "flux-system", "apps"), read(t, c, helmRepositoryGVK, "flux-system", "charts")} {
				if _, ok := u.GetAnnotations()[fluxRequestedAt]; ok {
					t.Errorf("%s was annotated all the same", u.GetKind())
				}
			}
			if _, err := r.PlanMarks(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PlanMarks: %v, want %q", err, tt.want)
			}
		})
	}
}

// Observe follows the two steps: the Kustomization applying the commit
// (its failure is the release's), then helm-controller releasing the
// chart version the commit names, Ready for the current generation.
func TestHelmReleaseObserve(t *testing.T) {
	const ksApplied = `
observedGeneration: 1
lastAppliedRevision: main@sha1:` + commitA + `
lastAttemptedRevision: main@sha1:` + commitA + `
conditions: [{type: Ready, status: "True", reason: ReconciliationSucceeded, message: "Applied revision: main@sha1:` + commitA + `"}]`
	tests := []struct {
		name, ks, hr string
		want         Observation
		wantMsg      string
	}{
		{"kustomization not there yet", `
observedGeneration: 1
lastAppliedRevision: main@sha1:` + commitB + `
conditions: [{type: Ready, status: Unknown, reason: Progressing, message: "Reconciliation in progress"}]`, "",
			Observation{}, "Kustomization flux-system/apps: Reconciliation in progress"},
		{"kustomization failed", `
observedGeneration: 1
lastAttemptedRevision: main@sha1:` + commitA + `
conditions: [{type: Ready, status: "False", reason: ReconciliationFailed, message: "HelmRelease/flux-system/web dry-run failed"}]`, "",
			Observation{Attempted: commitA, Failed: true}, "Kustomization flux-system/apps: HelmRelease/flux-system/web dry-run failed"},
		{"released", ksApplied, `
observedGeneration: 2
lastAttemptedGeneration: 2
lastHandledReconcileAt: TOKEN/` + commitA + `
lastAttemptedRevision: 1.4.3
history: [{chartName: web, chartVersion: 1.4.3, status: deployed, version: 2}]
conditions: [{type: Ready, status: "True", reason: UpgradeSucceeded, observedGeneration: 2, message: "Helm upgrade succeeded for release shop/web.v2 with chart web@1.4.3"}]`,
			Observation{Applied: commitA}, "Helm upgrade succeeded"},
		{"upgrade failed", ksApplied, `
observedGeneration: 1
lastAttemptedGeneration: 2
lastHandledReconcileAt: TOKEN/` + commitA + `
lastAttemptedRevision: 1.4.3
conditions: [{type: Ready, status: "False", reason: UpgradeFailed, observedGeneration: 2, message: "Helm upgrade failed for release shop/web with chart web@1.4.3: timed out waiting for the condition"}]`,
			Observation{Attempted: commitA, Failed: true}, "timed out waiting for the condition"},
		{"ready at the old version", ksApplied, `
observedGeneration: 1
lastHandledReconcileAt: TOKEN/` + commitA + `
lastAttemptedRevision: 1.4.2
conditions: [{type: Ready, status: "True", reason: UpgradeSucceeded, observedGeneration: 1, message: "Helm upgrade succeeded for release shop/web.v1 with chart web@1.4.2"}]`,
			Observation{}, "helm-controller has not released chart version 1.4.3 yet (last attempted 1.4.2)"},
		{"the old request handled", ksApplied, `
observedGeneration: 2
lastHandledReconcileAt: an-earlier-request
lastAttemptedRevision: 1.4.3
conditions: [{type: Ready, status: "True", reason: UpgradeSucceeded, observedGeneration: 2}]`,
			Observation{}, "waiting for helm-controller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCluster(t, fluxHelmRelease, fluxKustomization, gitRepository("https://github.com/acme/shop"), fluxHelmRepository)
			r, _ := New(c, helmReleaseEnv(), "acme/shop")
			setStatus(t, c, kustomizationGVK, "flux-system", "apps", tt.ks)
			if tt.hr != "" {
				// As after the first Observe asked it.
				hr := read(t, c, helmReleaseGVK, "flux-system", "web")
				hr.SetAnnotations(map[string]string{fluxRequestedAt: "TOKEN/" + commitA})
				if err := c.Update(context.Background(), hr); err != nil {
					t.Fatal(err)
				}
				setStatus(t, c, helmReleaseGVK, "flux-system", "web", tt.hr)
			}
			o, err := r.Observe(context.Background(), "TOKEN")
			if err != nil {
				t.Fatal(err)
			}
			if o.Applied != tt.want.Applied || o.Attempted != tt.want.Attempted || o.Failed != tt.want.Failed || !strings.Contains(o.Message, tt.wantMsg) {
				t.Errorf("observed %+v, want %+v with %q", o, tt.want, tt.wantMsg)
			}
		})
	}

	// The first look after the Kustomization applied the commit asks the
	// HelmRelease to reconcile it, once.
	c := fakeCluster(t, fluxHelmRelease, fluxKustomization, gitRepository("https://github.com/acme/shop"), fluxHelmRepository)
	r, _ := New(c, helmReleaseEnv(), "acme/shop")
	setStatus(t, c, kustomizationGVK, "flux-system", "apps", ksApplied)
	o, err := r.Observe(context.Background(), "TOKEN")
	if err != nil || o.Applied != "" || !strings.Contains(o.Message, "asked helm-controller to release it") {
		t.Fatalf("observed %+v, %v", o, err)
	}
	if got := read(t, c, helmReleaseGVK, "flux-system", "web").GetAnnotations()[fluxRequestedAt]; got != "TOKEN/"+commitA {
		t.Errorf("HelmRelease annotated %q, want the token and the commit the Kustomization applied", got)
	}
}

// A plan reads what the live release installed (its inventory), which
// Helm deletes once no longer rendered unless told to keep it.
func TestHelmReleasePlanMarks(t *testing.T) {
	c := fakeCluster(t, fluxHelmRelease, fluxKustomization, gitRepository("https://github.com/acme/shop"))
	setStatus(t, c, helmReleaseGVK, "flux-system", "web", `inventory: {entries: [{id: shop_web_apps_Deployment, v: v1}, {id: shop_web__Service, v: v1}]}`)
	r, _ := New(c, helmReleaseEnv(), "acme/shop")
	marks, err := r.PlanMarks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.Ref{{Namespace: "shop", Name: "web", Group: "apps", Kind: "Deployment", Version: "v1"}, {Namespace: "shop", Name: "web", Kind: "Service", Version: "v1"}}
	if len(marks.Owned) != 2 || marks.Owned[0] != want[0] || marks.Owned[1] != want[1] || marks.FieldManager != repoconfig.FluxHelmFieldManager {
		t.Errorf("marks %+v", marks)
	}
	keep := &unstructured.Unstructured{}
	keep.SetAnnotations(map[string]string{helmResourcePolicy: "keep"})
	if marks.Kept(keep) == "" || marks.Kept(&unstructured.Unstructured{}) != "" {
		t.Error("only helm.sh/resource-policy: keep keeps an object")
	}
}

func TestLookupSource(t *testing.T) {
	c := fakeCluster(t, fluxHelmRepository)
	r, _ := New(c, helmReleaseEnv(), "acme/shop")
	sr := r.(SourceReader)
	got, err := sr.LookupSource(context.Background(), render.SourceRef{Kind: render.KindHelmRepository, Namespace: "flux-system", Name: "charts"})
	if err != nil || got.Spec["url"] != "https://charts.example.com" {
		t.Errorf("source %+v, %v", got, err)
	}
	if _, err := sr.LookupSource(context.Background(), render.SourceRef{Kind: render.KindHelmRepository, Namespace: "flux-system", Name: "absent"}); err == nil || !strings.Contains(err.Error(), "neither in the environment's path nor in the cluster") {
		t.Errorf("missing source: %v", err)
	}
	if _, err := sr.LookupSource(context.Background(), render.SourceRef{Kind: "Secret", Namespace: "flux-system", Name: "charts"}); err == nil {
		t.Error("read a Secret as a chart source")
	}
}

// A HelmRelease the merge adds does not exist yet: slipway asks the
// Kustomization that applies this repository at the environment's path
// (and only one of this repository), and waits for it to create the
// HelmRelease; that Kustomization failing at the commit fails the deploy.
func TestHelmReleaseNotCreatedYet(t *testing.T) {
	env := helmReleaseEnv()
	c := fakeCluster(t, fluxKustomization, gitRepository("https://github.com/acme/shop"))
	r, _ := New(c, env, "acme/shop")
	token, err := r.Request(context.Background(), commitA)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*unstructured.Unstructured{read(t, c, gitRepositoryGVK, "flux-system", "shop"), read(t, c, kustomizationGVK, "flux-system", "apps")} {
		if u.GetAnnotations()[fluxRequestedAt] != token {
			t.Errorf("%s not asked to reconcile: %v", u.GetKind(), u.GetAnnotations())
		}
	}
	o, err := r.Observe(context.Background(), token)
	if err != nil || o.Applied != "" || !strings.Contains(o.Message, "waiting for Kustomization flux-system/apps to create Flux HelmRelease flux-system/web") {
		t.Errorf("observed %+v, %v", o, err)
	}
	setStatus(t, c, kustomizationGVK, "flux-system", "apps", `
observedGeneration: 1
lastAttemptedRevision: main@sha1:`+commitA+`
conditions: [{type: Ready, status: "False", reason: ReconciliationFailed, message: "HelmRelease/flux-system/web dry-run failed"}]`)
	if o, err := r.Observe(context.Background(), token); err != nil || o.Attempted != commitA || !o.Failed || !strings.Contains(o.Message, "dry-run failed") {
		t.Errorf("observed %+v, %v; want the Kustomization's failure", o, err)
	}

	// No Kustomization of this repository applies the path: nothing is
	// asked, and the HelmRelease is missing as before.
	for name, docs := range map[string][]string{
		"another repository": {fluxKustomization, gitRepository("https://github.com/acme/payments")},
		"another path":       {strings.Replace(fluxKustomization, "./clusters/prod", "./clusters/other", 1), gitRepository("https://github.com/acme/shop")},
	} {
		c := fakeCluster(t, docs...)
		r, _ := New(c, env, "acme/shop")
		if _, err := r.Request(context.Background(), commitA); err == nil || !strings.Contains(err.Error(), "read Flux HelmRelease flux-system/web") {
			t.Errorf("%s: %v, want the HelmRelease missing", name, err)
		}
		if _, ok := read(t, c, kustomizationGVK, "flux-system", "apps").GetAnnotations()[fluxRequestedAt]; ok {
			t.Errorf("%s: the Kustomization was asked all the same", name)
		}
	}
}
