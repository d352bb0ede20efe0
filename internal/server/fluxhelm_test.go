package server

// A Flux HelmRelease whose chart comes from a HelmRepository. Flux's
// source-controller and kustomize-controller run for real and apply the
// HelmRelease from the repository; helm-controller is not run (the testbin
// has no helm-controller): helmDouble plays it, writing status in the
// shapes fluxcd/helm-controller documents (docs/spec/v2/helmreleases.md,
// "HelmRelease Status": observedGeneration, lastAttemptedGeneration,
// lastAttemptedRevision, lastHandledReconcileAt, history, conditions Ready
// and Released with the reasons of "Ready HelmRelease" and "Failed
// HelmRelease"), and installing the chart's one ConfigMap as Helm would.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipwayhq/slipway/internal/chartsrc/chartsrctest"
	"github.com/slipwayhq/slipway/internal/config"
)

var helmReleasesGVR = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}

// helmDouble plays helm-controller on the HelmRelease ns/web.
type helmDouble struct {
	w        *world
	ns       string
	mu       sync.Mutex
	failNext string // the release of the next new generation fails with this message
	failed   int64  // the generation whose release failed: requests do not retry it
}

// step releases the HelmRelease when its generation is new or a
// reconcile.fluxcd.io/requestedAt was not handled yet, as helm-controller
// does; a failed generation is not retried (remediation retries: 0), only
// the request recorded.
func (d *helmDouble) step(ctx context.Context) {
	hrs := d.w.env.Dynamic().Resource(helmReleasesGVR).Namespace(d.ns)
	hr, err := hrs.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		return
	}
	asked := hr.GetAnnotations()["reconcile.fluxcd.io/requestedAt"]
	status, _, _ := unstructured.NestedMap(hr.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	gen := hr.GetGeneration()
	if handled, _ := status["lastHandledReconcileAt"].(string); handled == asked && status["lastAttemptedGeneration"] == gen {
		return
	}
	status["lastHandledReconcileAt"] = asked
	d.mu.Lock()
	fail := d.failNext
	if status["lastAttemptedGeneration"] != gen && fail != "" {
		d.failNext, d.failed = "", gen
	} else {
		fail = ""
	}
	failed := d.failed == gen
	d.mu.Unlock()
	version, _, _ := unstructured.NestedString(hr.Object, "spec", "chart", "spec", "version")
	release, _, _ := unstructured.NestedString(hr.Object, "spec", "releaseName")
	target, _, _ := unstructured.NestedString(hr.Object, "spec", "targetNamespace")
	greeting, _, _ := unstructured.NestedString(hr.Object, "spec", "values", "greeting")
	status["lastAttemptedGeneration"] = gen
	status["lastAttemptedRevision"] = version
	status["lastAttemptedReleaseAction"] = "upgrade"
	switch {
	case fail != "":
		status["conditions"] = []any{
			condition("Ready", "False", "UpgradeFailed", gen, fail),
			condition("Released", "False", "UpgradeFailed", gen, fail),
		}
	case failed: // a request for the failed generation: handled, not retried
	default:
		d.install(ctx, release, target, version, greeting)
		n := int64(len(asSlice(status["history"])) + 1)
		msg := fmt.Sprintf("Helm upgrade succeeded for release %s/%s.v%d with chart web@%s", target, release, n, version)
		status["observedGeneration"] = gen
		status["history"] = append([]any{map[string]any{"chartName": "web", "chartVersion": version, "name": release, "namespace": target, "status": "deployed", "version": n}}, asSlice(status["history"])...)
		status["conditions"] = []any{condition("Ready", "True", "UpgradeSucceeded", gen, msg), condition("Released", "True", "UpgradeSucceeded", gen, msg)}
	}
	hr.Object["status"] = status
	_, _ = hrs.UpdateStatus(ctx, hr, metav1.UpdateOptions{})
}

// install makes the chart's one object (chartsrctest.ConfigMap) as Helm
// installs it through helm-controller: its labels, its field manager.
func (d *helmDouble) install(ctx context.Context, release, ns, version, greeting string) {
	cm := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":%q,"labels":{"helm.toolkit.fluxcd.io/name":"web","helm.toolkit.fluxcd.io/namespace":%q}},"data":{"greeting":%q,"chart":"web-%s"}}`,
		release+"-web", ns, d.ns, greeting, version)
	force := true
	_, err := d.w.env.Client().CoreV1().ConfigMaps(ns).Patch(ctx, release+"-web", types.ApplyPatchType, []byte(cm), metav1.PatchOptions{FieldManager: "helm-controller", Force: &force})
	if err != nil {
		d.w.t.Logf("helm double: install: %v", err)
	}
}

func condition(typ, status, reason string, gen int64, msg string) map[string]any {
	return map[string]any{"type": typ, "status": status, "reason": reason, "observedGeneration": gen, "message": msg,
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// helmReleaseFiles are the path the Kustomization applies: the HelmRelease
// web (release shop in the production namespace, chart web at version from
// the HelmRepository charts) and that HelmRepository.
func (w *world) helmReleaseFiles(fluxNS, repoURL, version, greeting string) map[string]string {
	return map[string]string{
		"deploy/production/release.yaml": fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: %s}
spec:
  interval: 1h
  releaseName: shop
  targetNamespace: %s
  chart:
    spec:
      chart: web
      version: %q
      sourceRef: {kind: HelmRepository, name: charts}
  values: {greeting: %q}
`, fluxNS, w.prod, version, greeting),
		"deploy/production/repository.yaml": fmt.Sprintf("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: %s}\nspec: {interval: 1h, url: %q}\n", fluxNS, repoURL),
	}
}

// A pull request bumping the chart version of a HelmRelease gets the diff
// of the chart's rendered objects, fetched from the allowed repository;
// its merge makes slipway trigger Flux and follow the Kustomization and
// then the release to a Deployment success; an upgrade helm-controller
// fails ends the Deployment failure in its words.
func TestFluxHelmRelease(t *testing.T) {
	charts := chartsrctest.NewRepo(t,
		chartsrctest.Chart{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("web")},
		chartsrctest.Chart{Name: "web", Version: "1.4.3", Templates: chartsrctest.ConfigMap("web")})
	env, fluxNS := startFlux(t)
	if err := env.InstallFluxHelmReleases(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := newWorldWith(t, 4, func(w *world) map[string]string {
		files := w.helmReleaseFiles(fluxNS, charts.URL, "1.4.2", "hello")
		files[".slipway.yaml"] = fmt.Sprintf(`version: 1
environments:
  - name: production
    path: deploy/production
    cluster: test
    wait: 60s
    reconciler: {flux: {kind: HelmRelease, name: web, namespace: %s}}
`, fluxNS)
		return files
	}, func(c *config.Config) {
		c.Helm.Repositories = []config.HelmRepository{{URL: charts.URL}}
		c.Helm.CacheDir = t.TempDir()
		// The test's namespaces (production's and Flux's) only, so that a
		// release a pull request sends elsewhere meets the bounds.
		c.Clusters[0].Repos = []config.RepoEntry{{Repo: "acme/*", Namespaces: []string{"testfluxhelmrelease-*"}}}
	})
	helm := &helmDouble{w: w, ns: fluxNS}
	runCtx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); poll(runCtx, helm.step) }()
	t.Cleanup(func() { stop(); <-stopped }) // no step logs after the test
	fluxApplies(w, env, fluxNS)
	w.eventually("the first release", func() bool {
		cm := w.configMap(w.prod, "shop-web")
		return cm != nil && cm.Data["chart"] == "web-1.4.2"
	})
	object := "Flux HelmRelease " + fluxNS + "/web"

	n := w.openPR("bump", "alice", w.helmReleaseFiles(fluxNS, charts.URL, "1.4.3", "hello"))
	run := w.completed(w.head(n), "slipway/plan: production")
	text := run.GetOutput().GetSummary() + run.GetOutput().GetText()
	if run.GetConclusion() != "success" || run.GetOutput().GetTitle() != "~1" || !strings.Contains(text, "web-1.4.3") || !strings.Contains(text, "web from "+charts.URL+" 1.4.3 (sha256:") {
		t.Fatalf("plan: %s %q\n%s", run.GetConclusion(), run.GetOutput().GetTitle(), text)
	}
	w.planSays(n, "Applied by "+object+" after merge")
	w.policyRenders(n, "production")

	merge := w.mergeReconciled(n, "production")
	if cm := w.configMap(w.prod, "shop-web"); cm == nil || cm.Data["chart"] != "web-1.4.3" {
		t.Errorf("the release did not upgrade: %v", cm)
	}
	hr, err := env.Dynamic().Resource(helmReleasesGVR).Namespace(fluxNS).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil || !strings.HasSuffix(hr.GetAnnotations()["reconcile.fluxcd.io/requestedAt"], "/"+merge) {
		t.Errorf("the HelmRelease was not asked to reconcile the merge: %v %v", hr.GetAnnotations(), err)
	}

	// An upgrade helm-controller fails: the Deployment ends failure in its
	// words.
	bad := w.openPR("bad", "alice", w.helmReleaseFiles(fluxNS, charts.URL, "1.4.3", "broken"))
	w.completed(w.head(bad), "slipway/plan: production")
	const refusal = "Helm upgrade failed for release shop: timed out waiting for the condition"
	helm.mu.Lock()
	helm.failNext = refusal
	helm.mu.Unlock()
	badMerge, err := w.sim.Merge(w.repo, bad, "alice")
	if err != nil {
		t.Fatal(err)
	}
	recs := w.settled("production", 2)
	if d := recs[1]; d.d.GetRef() != badMerge || strings.Join(d.states, ",") != "in_progress,failure" || !strings.Contains(d.last.GetDescription(), refusal) {
		t.Errorf("deployment at %.7s %v %q, want in_progress then failure at %.7s with helm-controller's message", d.d.GetRef(), d.states, d.last.GetDescription(), badMerge)
	}

	// Hostile: the pull request writes the HelmRelease, so it chooses the
	// release's targetNamespace. One outside the repository's namespaces
	// is refused by the plan, naming the server config, as for any object.
	files := w.helmReleaseFiles(fluxNS, charts.URL, "1.4.3", "hello")
	files["deploy/production/release.yaml"] = strings.Replace(files["deploy/production/release.yaml"], "targetNamespace: "+w.prod, "targetNamespace: kube-system", 1)
	escape := w.openPR("escape", "alice", files)
	run = w.completed(w.head(escape), "slipway/plan: production")
	text = run.GetOutput().GetSummary() + run.GetOutput().GetText()
	if run.GetConclusion() != "failure" || !strings.Contains(text, "namespace kube-system is not allowed for acme/shop") {
		t.Errorf("a release sent to kube-system: plan %s\n%s", run.GetConclusion(), text)
	}
}
