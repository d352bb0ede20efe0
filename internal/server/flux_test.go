package server

// An environment Flux applies, with Flux for real: source-controller and
// kustomize-controller (built by tools/testbin/flux.sh from the Go module
// proxy) run against the test API server, and a GitRepository clones
// acme/shop from githubsim's git HTTP endpoint.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

var (
	gitRepositoriesGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	kustomizationsGVR  = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

// fluxWorld is a world whose production the Flux Kustomization "shop" in
// its own namespace applies from acme/shop's main branch, once Flux has
// applied the first commit; it returns the world and that namespace.
func fluxWorld(t *testing.T) (*world, string) {
	env, fluxNS := startFlux(t)
	w := newWorldWith(t, 4, func(w *world) map[string]string {
		return map[string]string{
			".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: production
    path: deploy/production
    cluster: test
    namespace: %s
    wait: 90s
    reconciler: {flux: {kind: Kustomization, name: shop, namespace: %s}}
`, w.prod, fluxNS),
			// No kustomization.yaml: Flux generates one, and reads nested/.
			"deploy/production/app.yaml":        nsConfigMap(w.prod, "app", "1"),
			"deploy/production/nested/log.yaml": nsConfigMap(w.prod, "log", "info"),
		}
	})
	fluxApplies(w, env, fluxNS)
	w.eventually("Flux applied the first commit", func() bool { return w.configMap(w.prod, "app") != nil })
	return w, fluxNS
}

// startFlux starts Flux's controllers against the test cluster, and
// makes the namespace its objects go in.
func startFlux(t *testing.T) (*testenv.Env, string) {
	env := testenv.Get(t)
	flux, err := env.StartFlux(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(flux.Logs())
		}
		flux.Stop()
	})
	return env, testenv.NewNamespace(t, env)
}

// fluxApplies makes the Flux Kustomization "shop" in fluxNS apply
// deploy/production of acme/shop's main branch, through the GitRepository
// "shop", which clones it from githubsim with an installation token.
func fluxApplies(w *world, env *testenv.Env, fluxNS string) {
	t := w.t
	ctx := context.Background()
	token, _, err := w.sim.Token(w.inst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client().CoreV1().Secrets(fluxNS).Create(ctx, secretFor("shop-git", token), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	create := func(gvr schema.GroupVersionResource, obj map[string]any) {
		t.Helper()
		if _, err := env.Dynamic().Resource(gvr).Namespace(fluxNS).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create(gitRepositoriesGVR, map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
		"metadata": map[string]any{"name": "shop", "namespace": fluxNS},
		"spec": map[string]any{"url": w.sim.URL() + "/" + shopRepo + ".git", "interval": "10m",
			"ref": map[string]any{"branch": "main"}, "secretRef": map[string]any{"name": "shop-git"}},
	})
	// Long intervals: after the first apply, only slipway's request makes
	// Flux look again.
	create(kustomizationsGVR, map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": "shop", "namespace": fluxNS},
		"spec": map[string]any{"interval": "10m", "path": "./deploy/production", "prune": true,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "shop"}},
	})
	w.patience = 2 * time.Minute
}

// secretFor is the basic-auth Secret a GitRepository clones githubsim with:
// an installation token, as for GitHub.
func secretFor(name, token string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name},
		StringData: map[string]string{"username": "x-access-token", "password": token}}
}

func nsConfigMap(ns, name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  value: %q\n", name, ns, value)
}

// The plan of a pull request is kustomize-controller's diff; merging it
// makes slipway ask Flux to reconcile, and the Deployment ends success at
// the merge commit once Flux applied it; a plan made after that shows no
// changes (what Flux applied is what the plan said). A change Flux rejects
// ends the Deployment failure with Flux's message.
func TestFluxForReal(t *testing.T) {
	w, fluxNS := fluxWorld(t)
	object := "Flux Kustomization " + fluxNS + "/shop"

	n := w.openPR("bump", "alice", map[string]string{
		"deploy/production/app.yaml":        nsConfigMap(w.prod, "app", "2"),
		"deploy/production/nested/log.yaml": nsConfigMap(w.prod, "log", "debug"),
	})
	run := w.completed(w.head(n), "slipway/plan: production")
	if run.GetConclusion() != "success" || run.GetOutput().GetTitle() != "~2" {
		t.Fatalf("plan: %s %q\n%s", run.GetConclusion(), run.GetOutput().GetTitle(), run.GetOutput().GetText())
	}
	w.planSays(n, "Applied by "+object+" after merge")
	w.policyRenders(n, "production")
	w.command(n, "alice", "/apply production")
	w.reply(n, "`production` is applied by "+object+", not by slipway")

	w.mergeReconciled(n, "production")
	cm := w.configMap(w.prod, "log")
	if cm == nil || cm.Data["value"] != "debug" || cm.Labels["kustomize.toolkit.fluxcd.io/name"] != "shop" {
		t.Fatalf("Flux did not apply the merge: %v", cm)
	}
	for _, m := range cm.ManagedFields {
		if m.Manager == "slipway" {
			t.Errorf("slipway wrote to %s: %+v", cm.Name, m)
		}
	}

	// A plan of the same manifests now finds nothing to change: the diff
	// the pull request showed is what kustomize-controller applied.
	same := w.openPR("same", "alice", map[string]string{"deploy/production/app.yaml": "# reviewed\n" + nsConfigMap(w.prod, "app", "2")})
	if run := w.completed(w.head(same), "slipway/plan: production"); run.GetConclusion() != "success" || run.GetOutput().GetTitle() != "no changes" {
		t.Errorf("plan after Flux applied: %s %q\n%s", run.GetConclusion(), run.GetOutput().GetTitle(), run.GetOutput().GetText())
	}

	// kustomize-controller rejects an object the API server refuses; the
	// Deployment ends failure in its words.
	bad := w.openPR("bad", "alice", map[string]string{"deploy/production/bad.yaml": nsConfigMap(w.prod, "Not_A_Name", "x")})
	w.completed(w.head(bad), "slipway/plan: production")
	badMerge, err := w.sim.Merge(w.repo, bad, "alice")
	if err != nil {
		t.Fatal(err)
	}
	recs := w.settled("production", 2)
	d := recs[1]
	if d.d.GetRef() != badMerge || strings.Join(d.states, ",") != "in_progress,failure" || !strings.Contains(d.last.GetDescription(), "failed at "+badMerge[:7]) {
		t.Errorf("deployment at %.7s %v %q, want in_progress then failure at %.7s", d.d.GetRef(), d.states, d.last.GetDescription(), badMerge)
	}
	w.reply(bad, "failed at "+badMerge[:7])
	if run := w.completed(badMerge, "slipway/apply: production"); run.GetConclusion() != "failure" || !strings.Contains(run.GetOutput().GetSummary(), `Not\_A\_Name`) {
		t.Errorf("apply run at the bad merge: %s\n%s", run.GetConclusion(), run.GetOutput().GetSummary())
	}
}
