package server

// An environment Argo CD applies. Argo CD itself is not run: argoDouble
// plays its application controller on the Application, writing status in
// the shapes Argo CD documents (argo-cd.readthedocs.io, "Application
// Specification Reference", and the status fields of argo-cd's
// manifests/crds/application-crd.yaml: status.sync.{status,revision},
// status.health.status, status.operationState.{phase,message,
// syncResult.revision}). What slipway sends it (the refresh annotation, the
// sync operation) and what slipway reads back are both checked.

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

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

var applicationsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// argoDouble answers an Application's refreshes and sync operations.
type argoDouble struct {
	w        *world
	ns, name string
	mu       sync.Mutex
	failNext string   // the next sync fails with this message
	synced   []string // what each sync operation asked: "REVISION by USER"
	refresh  int      // refresh annotations seen
}

// step does what Argo CD's application controller does with what it finds:
// a refresh annotation is consumed; a sync operation is run to its end and
// recorded in status.operationState, status.sync and status.health, and
// the operation field is cleared.
func (d *argoDouble) step(ctx context.Context) {
	apps := d.w.env.Dynamic().Resource(applicationsGVR).Namespace(d.ns)
	app, err := apps.Get(ctx, d.name, metav1.GetOptions{})
	if err != nil {
		return
	}
	changed := false
	if a := app.GetAnnotations(); a["argocd.argoproj.io/refresh"] != "" {
		delete(a, "argocd.argoproj.io/refresh")
		app.SetAnnotations(a)
		d.mu.Lock()
		d.refresh++
		d.mu.Unlock()
		changed = true
	}
	if op, ok, _ := unstructured.NestedMap(app.Object, "operation"); ok {
		rev, _, _ := unstructured.NestedString(op, "sync", "revision")
		who, _, _ := unstructured.NestedString(op, "initiatedBy", "username")
		d.mu.Lock()
		d.synced = append(d.synced, rev+" by "+who)
		msg, failed := d.failNext, d.failNext != ""
		d.failNext = ""
		d.mu.Unlock()
		now := time.Now().UTC().Format(time.RFC3339)
		phase, sync, health := "Succeeded", "Synced", "Healthy"
		if failed {
			phase, sync = "Failed", "OutOfSync"
		} else {
			msg = "successfully synced (all tasks run)"
		}
		source, _, _ := unstructured.NestedMap(app.Object, "spec", "source")
		dest, _, _ := unstructured.NestedMap(app.Object, "spec", "destination")
		app.Object["status"] = map[string]any{
			"reconciledAt": now,
			"sync":         map[string]any{"status": sync, "revision": rev, "comparedTo": map[string]any{"source": source, "destination": dest}},
			"health":       map[string]any{"status": health},
			"operationState": map[string]any{
				"operation": op, "phase": phase, "message": msg, "startedAt": now, "finishedAt": now,
				"syncResult": map[string]any{"revision": rev, "source": source},
			},
		}
		delete(app.Object, "operation")
		changed = true
	}
	if changed {
		_, _ = apps.Update(ctx, app, metav1.UpdateOptions{})
	}
}

func (d *argoDouble) syncs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.synced...)
}

// planSays waits for the plan comment on n to contain want.
func (w *world) planSays(n int, want string) {
	w.t.Helper()
	w.eventually(fmt.Sprintf("the plan comment on #%d saying %q", n, want), func() bool {
		s := w.stickyComments(n)
		return len(s) == 1 && strings.Contains(s[0].GetBody(), want)
	})
}

// policyRenders waits for env's policy on n and checks that it weighed the
// rendered manifests: a reconciled environment's render checks that its
// reconciler deploys this repository, as the plan's does, and the policy
// must render as the repository too.
func (w *world) policyRenders(n int, env string) {
	w.t.Helper()
	pol := w.completed(w.head(n), "slipway/policy: "+env)
	if out := pol.GetOutput().GetSummary() + pol.GetOutput().GetText(); strings.Contains(out, "manifests render") {
		w.t.Errorf("the policy of %s cannot render it:\n%s", env, out)
	}
}

// mergeReconciled merges n as alice and waits for env's one Deployment,
// which a reconciler's rollout ends in_progress then success at the merge
// commit, in its words; it returns the merge commit.
func (w *world) mergeReconciled(n int, env string) string {
	w.t.Helper()
	merge, err := w.sim.Merge(w.repo, n, "alice")
	if err != nil {
		w.t.Fatal(err)
	}
	recs := w.settled(env, 1)
	if d := recs[0]; d.d.GetRef() != merge || strings.Join(d.states, ",") != "in_progress,success" || !strings.Contains(d.last.GetDescription(), "applied "+merge[:7]) {
		w.t.Fatalf("deployment at %.7s %v %q, want in_progress then success at the merge %.7s", d.d.GetRef(), d.states, d.last.GetDescription(), merge)
	}
	return merge
}

// poll runs step every 100 ms until ctx ends, as a controller double's
// loop.
func poll(ctx context.Context, step func(context.Context)) {
	for ctx.Err() == nil {
		step(ctx)
		time.Sleep(100 * time.Millisecond)
	}
}

// argoWorld is a world whose production Argo CD applies, through the
// Application shop-production in its own namespace, and that namespace.
func argoWorld(t *testing.T) (*world, *argoDouble) {
	env := testenv.Get(t)
	ctx := context.Background()
	if err := env.InstallArgoCDApplications(ctx); err != nil {
		t.Fatal(err)
	}
	argoNS := testenv.NewNamespace(t, env)
	w := newWorldWith(t, 4, func(w *world) map[string]string {
		return map[string]string{
			".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: production
    path: deploy/production
    cluster: test
    namespace: %s
    wait: 30s
    reconciler: {argocd: {application: shop-production, namespace: %s}}
`, w.prod, argoNS),
			"deploy/production/app.yaml": configMapYAML("app", "1"),
		}
	})
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "shop-production", "namespace": argoNS},
		"spec": map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": w.sim.URL() + "/" + shopRepo + ".git", "path": "deploy/production", "targetRevision": "main"},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": w.prod},
		},
	}}
	if _, err := env.Dynamic().Resource(applicationsGVR).Namespace(argoNS).Create(ctx, app, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := &argoDouble{w: w, ns: argoNS, name: "shop-production"}
	runCtx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go poll(runCtx, d.step)
	return w, d
}

// A pull request gets Argo CD's diff and cannot /apply; its merge asks Argo
// CD to refresh and sync the merge commit and records the sync's outcome
// as the Deployment: success, then, for a sync Argo CD fails, failure with
// Argo CD's message. slipway applies nothing itself.
func TestArgoCDEnvironment(t *testing.T) {
	w, argo := argoWorld(t)
	w.patience = 90 * time.Second

	n := w.openPR("bump", "alice", map[string]string{"deploy/production/app.yaml": configMapYAML("app", "2")})
	head := w.head(n)
	if run := w.completed(head, "slipway/plan: production"); run.GetConclusion() != "success" {
		t.Fatalf("plan: %s %s", run.GetConclusion(), run.GetOutput().GetSummary())
	}
	w.planSays(n, "Applied by Argo CD Application "+argo.ns+"/shop-production after merge")
	w.policyRenders(n, "production")
	w.command(n, "alice", "/apply production")
	w.reply(n, "`production` is applied by Argo CD Application "+argo.ns+"/shop-production, not by slipway")

	merge := w.mergeReconciled(n, "production")
	if got := argo.syncs(); len(got) != 1 || got[0] != merge+" by slipway" {
		t.Errorf("sync operations %v, want one of the merge commit by slipway", got)
	}
	if argo.refresh == 0 {
		t.Error("the Application was never refreshed")
	}
	if cm := w.configMap(w.prod, "app"); cm != nil {
		t.Errorf("slipway applied production itself: %v", cm.Data)
	}

	// A sync Argo CD fails ends the Deployment failed, in Argo CD's words.
	n2 := w.openPR("bad", "alice", map[string]string{"deploy/production/app.yaml": configMapYAML("app", "3")})
	w.completed(w.head(n2), "slipway/plan: production")
	const refusal = `one or more objects failed to apply, reason: admission webhook "validate.example" denied the request`
	argo.mu.Lock()
	argo.failNext = refusal
	argo.mu.Unlock()
	merge2, err := w.sim.Merge(w.repo, n2, "alice")
	if err != nil {
		t.Fatal(err)
	}
	recs := w.settled("production", 2)
	if d := recs[1]; d.d.GetRef() != merge2 || strings.Join(d.states, ",") != "in_progress,failure" || !strings.Contains(d.last.GetDescription(), "failed at "+merge2[:7]) {
		t.Errorf("deployment at %.7s %v %q, want in_progress then failure at %.7s", d.d.GetRef(), d.states, d.last.GetDescription(), merge2)
	}
	w.reply(n2, "admission webhook")
}
