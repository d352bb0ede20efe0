package apply

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// hookChart is a chart with a pre-upgrade migration Job (deleted once it
// succeeds) and a post-upgrade Job (Helm's default policy: deleted before
// it is created again). Values pick the image and make the migration's pod
// fail (kwok fails pods labelled testenv.CrashLoopLabel).
var hookChart = map[string]string{
	"Chart.yaml":  "apiVersion: v2\nname: web\nversion: 0.1.0\n",
	"values.yaml": "image: web:1\nfailMigration: false\n",
	"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: {{ .Values.image | quote }}}]}
`,
	"templates/migrate.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {helm.sh/hook: pre-upgrade, helm.sh/hook-weight: "-5", helm.sh/hook-delete-policy: "before-hook-creation,hook-succeeded"}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels: {job: migrate{{ if .Values.failMigration }}, ` + testenv.CrashLoopLabel + `: "true"{{ end }}}
    spec: {restartPolicy: Never, containers: [{name: migrate, image: {{ .Values.image | quote }}}]}
`,
	"templates/notify.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: notify
  annotations: {helm.sh/hook: post-upgrade}
spec:
  backoffLimit: 0
  template:
    spec: {restartPolicy: Never, containers: [{name: notify, image: {{ .Values.image | quote }}}]}
`,
	"templates/tests/smoke.yaml": `apiVersion: v1
kind: Pod
metadata: {name: smoke, annotations: {helm.sh/hook: test}}
spec: {restartPolicy: Never, containers: [{name: smoke, image: busybox}]}
`,
}

// event is a change the test saw in the cluster, at the cluster's revision.
type event struct {
	rv   int64
	what string
}

// recorder watches the namespace's Jobs and Deployments and notes, in the
// order the cluster made them, when a Job was created, completed or
// failed, and when the Deployment's image changed.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (f *fixture) record(ctx context.Context) *recorder {
	f.t.Helper()
	rec := &recorder{}
	for _, gvr := range []schema.GroupVersionResource{
		{Group: "batch", Version: "v1", Resource: "jobs"},
		{Group: "apps", Version: "v1", Resource: "deployments"},
	} {
		w, err := f.kube.Dynamic().Resource(gvr).Namespace(f.ns).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			f.t.Fatal(err)
		}
		f.t.Cleanup(w.Stop)
		seen := map[string]string{}
		go func() {
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok || ev.Type == watch.Deleted {
					continue
				}
				state := u.GetKind() + " " + u.GetName() + " "
				if u.GetKind() == "Job" {
					state += "created"
					conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
					for _, c := range conds {
						m := c.(map[string]any)
						if (m["type"] == "Complete" || m["type"] == "Failed") && m["status"] == "True" {
							state = u.GetKind() + " " + u.GetName() + " " + strings.ToLower(m["type"].(string))
						}
					}
				} else {
					containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
					state += "image " + containers[0].(map[string]any)["image"].(string)
				}
				key := u.GetKind() + u.GetName() + string(u.GetUID())
				if seen[key] == state {
					continue
				}
				seen[key] = state
				rv, _ := strconv.ParseInt(u.GetResourceVersion(), 10, 64)
				rec.mu.Lock()
				rec.events = append(rec.events, event{rv, state})
				rec.mu.Unlock()
			}
		}()
	}
	return rec
}

// seen lists what was recorded, in the cluster's order.
func (rec *recorder) seen() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	evs := slices.Clone(rec.events)
	slices.SortFunc(evs, func(a, b event) int { return int(a.rv - b.rv) })
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.what
	}
	return out
}

// renderChart renders hookChart with values as the plan's render would.
func (f *fixture) renderChart(root, values string) *render.Result {
	f.t.Helper()
	for name, content := range hookChart {
		if name == "values.yaml" && values != "" {
			content = values
		}
		p := filepath.Join(root, "deploy", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	scope, err := render.NewScoper(f.kube.Config())
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := render.Render(f.ctx(), root, f.env, render.Options{Scope: scope})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) applyRendered(res *render.Result) (*plan.Plan, *Result) {
	f.t.Helper()
	p, objs, err := f.engine.ComputeWithObjects(f.ctx(), f.env, plan.Basis{Repository: f.repo, Commit: "c0ffee"}, res)
	if err != nil {
		f.t.Fatal(err)
	}
	return p, Run(f.ctx(), f.engine, f.env, p, objs)
}

// uid is the Job's uid, "" when there is none.
func (f *fixture) uid(name string) string {
	f.t.Helper()
	gvr := schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	u, err := f.kube.Dynamic().Resource(gvr).Namespace(f.ns).Get(f.ctx(), name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return string(u.GetUID())
}

func deploymentImage(t *testing.T, f *fixture) string {
	t.Helper()
	u := f.live(plan.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: f.ns, Name: "web"})
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	return containers[0].(map[string]any)["image"].(string)
}

// A chart's upgrade hooks run around its objects on a cluster whose kwok
// node completes (or fails) Jobs' pods: the first apply installs, so no
// upgrade hook runs; an upgrade runs the migration, waits for it, rolls
// the Deployment out, then runs the post-upgrade Job, honouring each
// hook's delete policy; a migration that fails stops the apply before the
// Deployment changes.
func TestHooksRunAroundTheRelease(t *testing.T) {
	f := newFixture(t)
	f.env.Path, f.env.Wait = "deploy", waitFor(time.Minute)
	root := t.TempDir()
	jobs := func(res *Result) []string {
		var out []string
		for _, h := range res.Hooks {
			out = append(out, fmt.Sprintf("%s %s %s", h.Event, h.Ref.Name, h.Outcome))
		}
		return out
	}

	p, res := f.applyRendered(f.renderChart(root, ""))
	mustSucceed(t, res)
	if len(p.Hooks) != 0 || len(res.Hooks) != 0 || f.uid("migrate") != "" {
		t.Fatalf("the install ran upgrade hooks: %q", jobs(res))
	}
	if len(p.Skipped) != 3 {
		t.Errorf("skipped %v, want both upgrade hooks and the test hook listed", p.Skipped)
	}

	rec := f.record(f.ctx())
	_, res = f.applyRendered(f.renderChart(root, "image: web:2\nfailMigration: false\n"))
	mustSucceed(t, res)
	if got, want := jobs(res), []string{"pre-upgrade migrate succeeded", "post-upgrade notify succeeded"}; !slices.Equal(got, want) {
		t.Errorf("hooks %q, want %q", got, want)
	}
	want := []string{"Job migrate created", "Job migrate complete", "Deployment web image web:2", "Job notify created", "Job notify complete"}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// The watch may deliver the last events after the apply returned.
		if got = relevant(rec.seen(), want); len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the cluster saw\n %q\nwant, in this order,\n %q", rec.seen(), want)
	}
	if f.uid("migrate") != "" {
		t.Error("the migration Job is still there: its policy says hook-succeeded")
	}
	notify := f.uid("notify")
	if notify == "" {
		t.Fatal("the post-upgrade Job is gone: its (default) policy is before-hook-creation only")
	}
	if f.live(plan.Ref{Version: "v1", Kind: "Pod", Namespace: f.ns, Name: "smoke"}) != nil {
		t.Error("the test hook ran")
	}

	_, res = f.applyRendered(f.renderChart(root, "image: web:3\nfailMigration: false\n"))
	mustSucceed(t, res)
	if again := f.uid("notify"); again == "" || again == notify {
		t.Errorf("the post-upgrade Job was not deleted and created again (before-hook-creation): uid %q, before %q", again, notify)
	}

	_, res = f.applyRendered(f.renderChart(root, "image: web:4\nfailMigration: true\n"))
	if !res.Failed() || !strings.Contains(res.Err, "Helm pre-upgrade hook Job.batch/"+f.ns+"/migrate failed") {
		t.Fatalf("apply with a failing migration: %q\n%s", res.Err, res.Text())
	}
	if got := jobs(res); !slices.Equal(got, []string{"pre-upgrade migrate failed", "post-upgrade notify not-applied"}) {
		t.Errorf("hooks %q", got)
	}
	wantOutcome(t, res, "Deployment", "web", NotApplied)
	if img := deploymentImage(t, f); img != "web:3" {
		t.Errorf("the Deployment runs %s after a failed migration, want web:3 unchanged", img)
	}
	t.Logf("failed apply: %s", res.Err)
}

// relevant keeps the entries of seen that are among want, in seen's order.
func relevant(seen, want []string) []string {
	var out []string
	for _, s := range seen {
		if slices.Contains(want, s) {
			out = append(out, s)
		}
	}
	return out
}

// A pre-install hook that fails leaves the environment as it found it: no
// object applied and no inventory recorded, so the next apply is an
// install again and runs the pre-install hook again.
func TestFailedPreInstallHookLeavesNoInventory(t *testing.T) {
	f := newFixture(t)
	hook := f.objects(`
apiVersion: batch/v1
kind: Job
metadata: {name: bootstrap, namespace: NS, annotations: {helm.sh/hook: pre-install}}
spec:
  backoffLimit: 0
  template:
    metadata: {labels: {"` + testenv.CrashLoopLabel + `": "true"}}
    spec: {restartPolicy: Never, containers: [{name: b, image: example.invalid/b:1}]}
`)
	rendered := &render.Result{Objects: f.objects("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: NS}\n"), Skipped: hook}
	res := func() (*plan.Plan, *Result) {
		t.Helper()
		p, objs, err := f.engine.ComputeWithObjects(f.ctx(), f.env, plan.Basis{Repository: f.repo, Commit: "c0ffee"}, rendered)
		if err != nil {
			t.Fatal(err)
		}
		return p, Run(f.ctx(), f.engine, f.env, p, objs)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		p, r := res()
		if len(p.Hooks) != 1 || p.Hooks[0].Event != "pre-install" {
			t.Fatalf("attempt %d: hooks %+v, want the pre-install hook", attempt, p.Hooks)
		}
		if !r.Failed() || !strings.Contains(r.Err, "Helm pre-install hook Job.batch/"+f.ns+"/bootstrap failed") {
			t.Fatalf("attempt %d: %q", attempt, r.Err)
		}
		wantOutcome(t, r, "ConfigMap", "app", NotApplied)
		if inv, err := f.engine.Inventory(f.ctx(), f.repo, f.env); err != nil || len(inv) != 0 {
			t.Errorf("attempt %d: inventory %v (%v), want none", attempt, inv, err)
		}
	}
}
