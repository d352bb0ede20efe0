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

// An Argo CD Application as argo-cd's manifests/crds/application-crd.yaml
// and the Application specification (argo-cd.readthedocs.io, "Application
// Specification Reference") describe it: spec.source.{repoURL,path,
// targetRevision}, spec.syncPolicy.automated; status.sync.{status,revision},
// status.health.{status,message}, status.operationState.{phase,message,
// syncResult.revision}.
const argoApplication = `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop-prod, namespace: argocd}
spec:
  project: default
  source: {repoURL: "git@github.com:acme/shop.git", path: clusters/prod, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: shop}
`

func argoEnv() *repoconfig.Environment {
	return &repoconfig.Environment{Name: "prod", Path: "clusters/prod", Reconciler: &repoconfig.Reconciler{
		ArgoCD: &repoconfig.ArgoCDRef{Application: "shop-prod", Namespace: "argocd"}}}
}

func TestArgoCDRequest(t *testing.T) {
	tests := []struct {
		name, app string
		wantSync  bool
	}{
		{"manual sync: refresh, then a sync operation at the commit", argoApplication, true},
		{"automated: refresh only", argoApplication + "  syncPolicy: {automated: {prune: true}}\n", false},
		{"automated but disabled (Argo CD 3): refresh and sync", argoApplication + "  syncPolicy: {automated: {enabled: false}}\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCluster(t, tt.app)
			r, _ := New(c, argoEnv(), "acme/shop")
			if _, err := r.Request(context.Background(), commitA); err != nil {
				t.Fatal(err)
			}
			app := read(t, c, applicationGVK, "argocd", "shop-prod")
			if got := app.GetAnnotations()[argoRefresh]; got != "normal" {
				t.Errorf("refresh annotation %q", got)
			}
			rev, found, _ := unstructured.NestedString(app.Object, "operation", "sync", "revision")
			who, _, _ := unstructured.NestedString(app.Object, "operation", "initiatedBy", "username")
			if found != tt.wantSync || (tt.wantSync && (rev != commitA || who != "slipway")) {
				t.Errorf("operation: found %v, revision %q, initiated by %q; want sync %v", found, rev, who, tt.wantSync)
			}
		})
	}
}

// An operation under way is Argo CD's; slipway does not replace it.
func TestArgoCDRequestLeavesARunningOperation(t *testing.T) {
	c := fakeCluster(t, argoApplication+"operation:\n  sync: {revision: "+commitB+"}\n  initiatedBy: {username: alice}\n")
	r, _ := New(c, argoEnv(), "acme/shop")
	if _, err := r.Request(context.Background(), commitA); err != nil {
		t.Fatal(err)
	}
	app := read(t, c, applicationGVK, "argocd", "shop-prod")
	if who, _, _ := unstructured.NestedString(app.Object, "operation", "initiatedBy", "username"); who != "alice" {
		t.Errorf("operation replaced: initiated by %q", who)
	}
}

func TestArgoCDRequestRefusesOtherSources(t *testing.T) {
	tests := []struct{ name, app, want string }{
		{"another repository", strings.Replace(argoApplication, "acme/shop.git", "acme/payments.git", 1), "deploys from git@github.com:acme/payments.git, not from acme/shop"},
		{"another path", strings.Replace(argoApplication, "path: clusters/prod", "path: clusters/dev", 1), `applies the path "clusters/dev"`},
		{"several sources", argoApplication + "  sources: [{repoURL: x}]\n", "has several sources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCluster(t, tt.app)
			r, _ := New(c, argoEnv(), "acme/shop")
			_, err := r.Request(context.Background(), commitA)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			app := read(t, c, applicationGVK, "argocd", "shop-prod")
			if _, synced, _ := unstructured.NestedMap(app.Object, "operation"); synced || app.GetAnnotations()[argoRefresh] != "" {
				t.Error("the Application was refreshed or synced all the same")
			}
			if _, err := r.PlanMarks(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PlanMarks: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestArgoCDObserve(t *testing.T) {
	tests := []struct {
		name, status string
		want         Observation
	}{
		{"synced and healthy", `
sync: {status: Synced, revision: "` + commitA + `"}
health: {status: Healthy}
operationState: {phase: Succeeded, message: "successfully synced (all tasks run)", syncResult: {revision: "` + commitA + `"}}`,
			Observation{Applied: commitA, Attempted: commitA}},
		{"sync failed", `
sync: {status: OutOfSync, revision: "` + commitB + `"}
health: {status: Healthy}
operationState: {phase: Failed, message: "one or more objects failed to apply, reason: ConfigMap \"x\" is invalid", syncResult: {revision: "` + commitB + `"}}`,
			Observation{Attempted: commitB, Failed: true, Message: `one or more objects failed to apply, reason: ConfigMap "x" is invalid`}},
		{"degraded", `
sync: {status: Synced, revision: "` + commitA + `"}
health: {status: Degraded, message: "Deployment exceeded its progress deadline"}`,
			Observation{Attempted: commitA, Failed: true, Message: "health Degraded: Deployment exceeded its progress deadline"}},
		{"progressing", `
sync: {status: Synced, revision: "` + commitA + `"}
health: {status: Progressing}
operationState: {phase: Running, message: "waiting for healthy state", operation: {sync: {revision: "` + commitA + `"}}}`,
			Observation{Attempted: commitA, Message: "sync Synced, health Progressing, operation running: waiting for healthy state"}},
		{"comparison error", `
sync: {status: Unknown}
conditions: [{type: ComparisonError, message: "repository not accessible"}]`,
			Observation{Message: "sync Unknown, health unknown; ComparisonError: repository not accessible"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCluster(t, argoApplication)
			setStatus(t, c, applicationGVK, "argocd", "shop-prod", tt.status)
			r, _ := New(c, argoEnv(), "acme/shop")
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

// What an Application manages (status.resources) is what a plan compares
// with; without automated prune Argo CD keeps what is no longer rendered.
func TestArgoCDPlanMarks(t *testing.T) {
	for _, tt := range []struct {
		name, app string
		prunes    bool
	}{
		{"manual sync keeps", argoApplication, false},
		{"automated without prune keeps", argoApplication + "  syncPolicy: {automated: {selfHeal: true}}\n", false},
		{"automated prune deletes", argoApplication + "  syncPolicy: {automated: {prune: true}}\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCluster(t, tt.app)
			setStatus(t, c, applicationGVK, "argocd", "shop-prod", `
resources:
- {group: apps, version: v1, kind: Deployment, namespace: shop, name: web, status: Synced}
- {version: v1, kind: ConfigMap, namespace: shop, name: old, status: OutOfSync}
- {kind: Broken}`)
			r, _ := New(c, argoEnv(), "acme/shop")
			m, err := r.PlanMarks(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := []plan.Ref{{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, {Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "old"}}
			if !slices.Equal(m.Owned, want) || m.FieldManager != "argocd-controller" {
				t.Errorf("owned %+v", m.Owned)
			}
			live := &unstructured.Unstructured{}
			if kept := m.Kept(live); (kept == "") != tt.prunes {
				t.Errorf("kept %q, want pruned %v", kept, tt.prunes)
			}
			live.SetAnnotations(map[string]string{"argocd.argoproj.io/sync-options": "Prune=false,ServerSideApply=true"})
			if kept := m.Kept(live); !strings.Contains(kept, "Prune=false") {
				t.Errorf("annotated: %q", kept)
			}
		})
	}
}
