package reconciler

import (
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

const (
	commitA = "1111111111111111111111111111111111111111"
	commitB = "2222222222222222222222222222222222222222"
)

// The shapes below are the Flux v2 APIs: kustomize.toolkit.fluxcd.io/v1
// Kustomization (spec.sourceRef, spec.path; status.lastAppliedRevision,
// lastAttemptedRevision, observedGeneration, conditions[Ready]) and
// source.toolkit.fluxcd.io/v1 GitRepository (spec.url), as documented at
// fluxcd.io/flux/components/kustomize/kustomizations/#status.
const fluxKustomization = `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system, generation: 1}
spec:
  interval: 10m
  path: ./clusters/prod
  prune: true
  sourceRef: {kind: GitRepository, name: shop}
`

func gitRepository(url string) string {
	return `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: shop, namespace: flux-system}
spec:
  interval: 1m
  url: ` + url + `
  ref: {branch: main}
`
}

func fluxEnv() *repoconfig.Environment {
	return &repoconfig.Environment{Name: "prod", Path: "clusters/prod", Reconciler: &repoconfig.Reconciler{
		Flux: &repoconfig.FluxRef{Kind: repoconfig.FluxKustomization, Name: "apps", Namespace: "flux-system"}}}
}

func TestFluxRequestAnnotatesSourceAndKustomization(t *testing.T) {
	c := fakeCluster(t, fluxKustomization, gitRepository("https://github.com/Acme/shop.git"))
	r, err := New(c, fluxEnv(), "acme/shop")
	if err != nil {
		t.Fatal(err)
	}
	token, err := r.Request(context.Background(), commitA)
	if err != nil {
		t.Fatal(err)
	}
	ks := read(t, c, kustomizationGVK, "flux-system", "apps")
	repo := read(t, c, gitRepositoryGVK, "flux-system", "shop")
	if token == "" || ks.GetAnnotations()[fluxRequestedAt] != token || repo.GetAnnotations()[fluxRequestedAt] != token {
		t.Errorf("token %q; Kustomization %v; GitRepository %v", token, ks.GetAnnotations(), repo.GetAnnotations())
	}
	if p, _, _ := unstructured.NestedString(ks.Object, "spec", "path"); p != "./clusters/prod" {
		t.Errorf("the request changed the spec: path %q", p)
	}
}

// .slipway.yaml names the object; the object must deploy this repository at
// the environment's path, or slipway touches nothing.
func TestFluxRequestRefusesOtherSources(t *testing.T) {
	tests := []struct {
		name, ks, repo, want string
	}{
		{"another repository", fluxKustomization, gitRepository("https://github.com/acme/payments.git"), "deploys from https://github.com/acme/payments.git, not from acme/shop"},
		{"a look-alike owner", fluxKustomization, gitRepository("ssh://git@github.com/evil-acme/shop"), "not from acme/shop"},
		{"another path", strings.Replace(fluxKustomization, "./clusters/prod", "./clusters/staging", 1), gitRepository("https://github.com/acme/shop"), `applies the path "./clusters/staging", but the environment's path is "clusters/prod"`},
		{"a bucket", strings.Replace(fluxKustomization, "kind: GitRepository", "kind: Bucket", 1), gitRepository("https://github.com/acme/shop"), `takes its source from Bucket "shop", not a GitRepository`},
		{"missing", "", gitRepository("https://github.com/acme/shop"), "read Flux Kustomization flux-system/apps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := []string{tt.repo}
			if tt.ks != "" {
				docs = append(docs, tt.ks)
			}
			c := fakeCluster(t, docs...)
			r, _ := New(c, fluxEnv(), "acme/shop")
			_, err := r.Request(context.Background(), commitA)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			repo := read(t, c, gitRepositoryGVK, "flux-system", "shop")
			if _, ok := repo.GetAnnotations()[fluxRequestedAt]; ok {
				t.Error("the GitRepository was annotated all the same")
			}
			// A plan against it would take another's inventory for this
			// environment's: refused too (a missing one owns nothing).
			if _, err := r.PlanMarks(context.Background()); tt.ks != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("PlanMarks: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFluxObserve(t *testing.T) {
	tests := []struct {
		name, status string
		want         Observation
	}{
		{"applied and ready", `
observedGeneration: 1
lastAppliedRevision: main@sha1:` + commitA + `
lastAttemptedRevision: main@sha1:` + commitA + `
conditions: [{type: Ready, status: "True", reason: ReconciliationSucceeded, message: "Applied revision: main@sha1:` + commitA + `"}]`,
			Observation{Applied: commitA, Attempted: commitA, Message: "Applied revision: main@sha1:" + commitA}},
		{"rejected at the next commit", `
observedGeneration: 1
lastAppliedRevision: main@sha1:` + commitA + `
lastAttemptedRevision: main@sha1:` + commitB + `
conditions: [{type: Ready, status: "False", reason: ReconciliationFailed, message: "ConfigMap/shop/x dry-run failed: field is immutable"}]`,
			Observation{Attempted: commitB, Failed: true, Message: "ConfigMap/shop/x dry-run failed: field is immutable"}},
		{"progressing", `
observedGeneration: 1
lastAppliedRevision: main@sha1:` + commitA + `
lastAttemptedRevision: main@sha1:` + commitA + `
conditions: [{type: Ready, status: Unknown, reason: Progressing, message: "Reconciliation in progress"}]`,
			Observation{Attempted: commitA, Message: "Reconciliation in progress"}},
		{"status of an older spec", `
observedGeneration: 0
lastAppliedRevision: main@sha1:` + commitA + `
conditions: [{type: Ready, status: "True", message: old}]`,
			Observation{Message: "waiting for the controller to see the latest spec"}},
		{"no status yet", `{}`, Observation{Message: "waiting for the controller to see the latest spec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCluster(t, fluxKustomization, gitRepository("https://github.com/acme/shop"))
			setStatus(t, c, kustomizationGVK, "flux-system", "apps", tt.status)
			r, _ := New(c, fluxEnv(), "acme/shop")
			got, err := r.Observe(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFluxCommit(t *testing.T) {
	for rev, want := range map[string]string{
		"main@sha1:" + commitA: commitA, "sha1:" + commitA: commitA, "main/" + commitA: commitA, "": "",
	} {
		if got := fluxCommit(rev); got != want {
			t.Errorf("fluxCommit(%q) = %q, want %q", rev, got, want)
		}
	}
}

// A plan's deletions are the Kustomization's inventory; its prune rules
// say what stays.
func TestFluxPlanMarks(t *testing.T) {
	c := fakeCluster(t, fluxKustomization, gitRepository("https://github.com/acme/shop"))
	setStatus(t, c, kustomizationGVK, "flux-system", "apps", `
inventory:
  entries:
  - {id: shop_web_apps_Deployment, v: v1}
  - {id: _shop__Namespace, v: v1}
  - {id: not-an-id, v: v1}`)
	r, _ := New(c, fluxEnv(), "acme/shop")
	m, err := r.PlanMarks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.Ref{{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, {Version: "v1", Kind: "Namespace", Name: "shop"}}
	if !slices.Equal(m.Owned, want) || m.FieldManager != "kustomize-controller" {
		t.Errorf("owned %+v, field manager %q", m.Owned, m.FieldManager)
	}
	live := &unstructured.Unstructured{}
	if got := m.Kept(live); got != "" {
		t.Errorf("prune: true keeps %q", got)
	}
	live.SetAnnotations(map[string]string{"kustomize.toolkit.fluxcd.io/prune": "disabled"})
	if got := m.Kept(live); !strings.Contains(got, "annotated kustomize.toolkit.fluxcd.io/prune: disabled") {
		t.Errorf("annotated: %q", got)
	}

	// No Kustomization yet: nothing owned, the plan still runs.
	none, _ := New(fakeCluster(t), fluxEnv(), "acme/shop")
	if m, err := none.PlanMarks(context.Background()); err != nil || m.Owned != nil || m.FieldManager != "kustomize-controller" {
		t.Errorf("without a Kustomization: %+v %v", m, err)
	}
}
