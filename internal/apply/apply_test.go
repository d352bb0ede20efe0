package apply

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

const secretValue = "hunter2-never-print-me"

const firstSet = `
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: web-credentials}
stringData: {password: ` + secretValue + `}
`

func TestFirstApplyCreatesThenNothingChanges(t *testing.T) {
	f := newFixture(t)
	p, objs := f.plan(firstSet)
	res := Run(f.ctx(), f.engine, f.env, p, objs)
	mustSucceed(t, res)
	wantOutcome(t, res, "ConfigMap", "web", Created)
	wantOutcome(t, res, "Secret", "web-credentials", Created)
	if got := res.Summary(); got != "2 created" {
		t.Errorf("summary %q", got)
	}
	if res.Env != "staging" || res.Digest != p.Digest || res.Commit != "c0ffee" {
		t.Errorf("result identifies %q %q %q", res.Env, res.Commit, res.Digest)
	}
	f.honest(res, p)

	inv, err := f.engine.Inventory(f.ctx(), f.repo, f.env)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv) != 2 {
		t.Errorf("inventory %v, want the ConfigMap and the Secret", inv)
	}

	again := f.apply(firstSet)
	mustSucceed(t, again)
	if got := again.Summary(); got != "2 unchanged" {
		t.Errorf("second apply: %q, want 2 unchanged", got)
	}
}

// A Secret's value never reaches what people read, even when the cluster
// quotes it (see TestRejectedObject for that case).
func TestSecretNeverShown(t *testing.T) {
	f := newFixture(t)
	res := f.apply(firstSet)
	mustSucceed(t, res)
	b, _ := json.Marshal(res)
	for name, s := range map[string]string{"text": res.Text(), "summary": res.Summary(), "json": string(b)} {
		if strings.Contains(s, secretValue) {
			t.Errorf("%s shows the Secret's value:\n%s", name, s)
		}
	}
}

func TestPrune(t *testing.T) {
	const three = `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: gone}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: pinned, annotations: {slipway.dev/prune: disabled}}
`
	const one = `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep}
`
	tests := []struct {
		name    string
		prune   *bool
		deleted []string
		kept    []string
	}{
		{name: "prune", deleted: []string{"gone"}, kept: []string{"pinned"}},
		{name: "prune false keeps everything", prune: ptr.To(false), kept: []string{"gone", "pinned"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			mustSucceed(t, f.apply(three))
			f.env.Prune = tc.prune
			res := f.apply(one)
			mustSucceed(t, res)
			var deleted, kept []string
			for _, o := range res.Objects {
				switch o.Outcome {
				case Deleted:
					deleted = append(deleted, o.Ref.Name)
				case Kept:
					kept = append(kept, o.Ref.Name)
					if !strings.HasPrefix(o.Message, "kept: ") {
						t.Errorf("kept %s without saying why: %q", o.Ref.Name, o.Message)
					}
				}
			}
			if !reflect.DeepEqual(deleted, tc.deleted) || !reflect.DeepEqual(kept, tc.kept) {
				t.Errorf("deleted %v kept %v, want %v and %v\n%s", deleted, kept, tc.deleted, tc.kept, res.Text())
			}
			wantOutcome(t, res, "ConfigMap", "keep", Unchanged)
			for _, name := range tc.deleted {
				if f.live(plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: name}) != nil {
					t.Errorf("%s reported deleted but still there", name)
				}
			}
			// Kept objects stay tracked, so a later apply (with prune on, or
			// the annotation gone) still finds them.
			inv, err := f.engine.Inventory(f.ctx(), f.repo, f.env)
			if err != nil {
				t.Fatal(err)
			}
			var tracked []string
			for _, r := range inv {
				tracked = append(tracked, r.Name)
			}
			want := append([]string{"keep"}, tc.kept...)
			if !sameSet(tracked, want) {
				t.Errorf("inventory %v, want %v", tracked, want)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

func TestCRDAndCustomResourceInOneApply(t *testing.T) {
	f := newFixture(t)
	group := f.ns + ".example.com" // CRDs are cluster-wide: one group per test
	text := strings.ReplaceAll(`
apiVersion: GROUP/v1
kind: Widget
metadata: {name: w}
spec: {size: 3}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.GROUP}
spec:
  group: GROUP
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, "GROUP", group)
	t.Cleanup(func() {
		_ = f.kube.Dynamic().Resource(crds).Delete(context.Background(), "widgets."+group, metav1.DeleteOptions{})
	})
	f.env.Wait = waitFor(30 * time.Second)
	res := f.apply(text)
	mustSucceed(t, res)
	wantOutcome(t, res, "CustomResourceDefinition", "widgets."+group, Created)
	wantOutcome(t, res, "Widget", "w", Created)
	if res.Objects[0].Ref.Kind != "CustomResourceDefinition" {
		t.Errorf("objects not in plan order: first %s", res.Objects[0].Ref)
	}
	w, err := f.kube.Dynamic().Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}).
		Namespace(f.ns).Get(f.ctx(), "w", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the Widget is not in the cluster: %v", err)
	}
	if size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size"); size != 3 {
		t.Errorf("widget spec.size %d", size)
	}
}

func TestHealth(t *testing.T) {
	const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, LABELS}}
    spec:
      containers: [{name: web, image: example.invalid/web:1}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {k: v}
`
	tests := []struct {
		name      string
		labels    string
		wait      time.Duration
		want      Outcome
		wantErr   []string
		maxRunFor time.Duration
	}{
		{name: "rolls out", labels: "tier: web", wait: time.Minute, want: Created, maxRunFor: time.Minute},
		{name: "crash loop times out", labels: `"` + testenv.CrashLoopLabel + `": "true"`, wait: 5 * time.Second, want: Unhealthy,
			wantErr: []string{"Deployment.apps/NS/web", "not healthy after 5s"}, maxRunFor: 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.env.Wait = waitFor(tc.wait)
			start := time.Now()
			res := f.apply(strings.ReplaceAll(deployment, "LABELS", tc.labels))
			elapsed := time.Since(start)
			o := wantOutcome(t, res, "Deployment", "web", tc.want)
			wantOutcome(t, res, "ConfigMap", "web-config", Created)
			if elapsed > tc.maxRunFor {
				t.Errorf("apply took %s", elapsed)
			}
			if len(tc.wantErr) == 0 {
				mustSucceed(t, res)
				return
			}
			if !res.Failed() {
				t.Fatalf("apply succeeded:\n%s", res.Text())
			}
			for _, w := range tc.wantErr {
				if w = strings.ReplaceAll(w, "NS", f.ns); !strings.Contains(res.Err, w) {
					t.Errorf("error %q does not contain %q", res.Err, w)
				}
			}
			if o.Message == "" {
				t.Error("unhealthy Deployment without kstatus's message")
			}
			t.Logf("error: %s", res.Err)
		})
	}
}

// Nothing is applied from a plan with errors.
func TestPlanWithErrorsIsRefused(t *testing.T) {
	f := newFixture(t)
	p, objs := f.plan(`
apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
---
apiVersion: nowhere.example.com/v1
kind: Unknown
metadata: {name: u}
`)
	res := Run(f.ctx(), f.engine, f.env, p, objs)
	if !res.Failed() || !strings.Contains(res.Err, "nothing was applied") {
		t.Fatalf("err %q", res.Err)
	}
	wantOutcome(t, res, "ConfigMap", "fine", NotApplied)
	wantOutcome(t, res, "Unknown", "u", Failed)
	if f.live(plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: "fine"}) != nil {
		t.Error("the ConfigMap was applied")
	}
	if inv, _ := f.engine.Inventory(f.ctx(), f.repo, f.env); len(inv) != 0 {
		t.Errorf("inventory written: %v", inv)
	}
}

// Objects that are not the plan's are refused before anything is sent.
func TestObjectsMustMatchThePlan(t *testing.T) {
	f := newFixture(t)
	p, objs := f.plan(firstSet)
	extra := objs[0].DeepCopy()
	extra.SetName("smuggled")
	res := Run(f.ctx(), f.engine, f.env, p, append(objs, extra))
	if !res.Failed() || !strings.Contains(res.Err, "do not match the plan") {
		t.Fatalf("err %q", res.Err)
	}
	if f.live(plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: "web"}) != nil {
		t.Error("applied despite the mismatch")
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	f := newFixture(t)
	p, objs := f.plan(firstSet)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Run(ctx, f.engine, f.env, p, objs)
	if !res.Failed() || !strings.Contains(res.Err, "cancelled") {
		t.Fatalf("err %q", res.Err)
	}
	for _, o := range res.Objects {
		if o.Outcome != NotApplied {
			t.Errorf("%s: %s after cancellation before start", o.Ref, o.Outcome)
		}
	}
	f.honest(res, p)
}

var crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// ownNamespace makes the environment's namespace one its manifests create
// (the fixture's with suffix), deleted when the test ends.
func (f *fixture) ownNamespace(suffix string) {
	f.env.Namespace = f.ns + suffix
	f.t.Cleanup(func() {
		_ = f.kube.Client().CoreV1().Namespaces().Delete(context.Background(), f.env.Namespace, metav1.DeleteOptions{})
	})
}

func waitFor(d time.Duration) repoconfig.Duration { return repoconfig.Duration{Duration: d, Set: true} }

// An environment whose manifests create its own namespace (the one its
// inventory lives in) applies on the first try.
func TestFirstApplyCreatesTheEnvironmentsNamespace(t *testing.T) {
	f := newFixture(t)
	f.ownNamespace("-own")
	text := strings.ReplaceAll(`
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {greeting: hello}
---
apiVersion: v1
kind: Namespace
metadata: {name: OWN}
`, "OWN", f.env.Namespace)
	p, objs := f.plan(text)
	res := Run(f.ctx(), f.engine, f.env, p, objs)
	mustSucceed(t, res)
	wantOutcome(t, res, "Namespace", f.env.Namespace, Created)
	wantOutcome(t, res, "ConfigMap", "web", Created)
	inv, err := f.engine.Inventory(f.ctx(), f.repo, f.env)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv) != 2 {
		t.Errorf("inventory %v, want the Namespace and the ConfigMap", inv)
	}
	if again := f.apply(text); again.Failed() || again.Summary() != "2 unchanged" {
		t.Errorf("second apply: %s %s", again.Summary(), again.Err)
	}
}

// An apply that leaves the environment's Namespace as it is does not wait
// for it to be ready (nor read it) before sending the rest.
func TestUnchangedNamespaceIsNotAwaited(t *testing.T) {
	f := newFixture(t)
	f.ownNamespace("-kept")
	text := strings.ReplaceAll(`
apiVersion: v1
kind: Namespace
metadata: {name: OWN}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {greeting: GREETING}
`, "OWN", f.env.Namespace)
	mustSucceed(t, f.apply(strings.ReplaceAll(text, "GREETING", "hello")))

	var reads atomic.Int32
	cfg := f.kube.Config()
	nsPath := "/api/v1/namespaces/" + f.env.Namespace
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodGet && (r.URL.Path == nsPath || r.URL.Path == "/api/v1/namespaces") {
				reads.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	engine, err := plan.NewEngine(cfg, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.engine = engine
	p, objs := f.plan(strings.ReplaceAll(text, "GREETING", "bonjour"))
	reads.Store(0)
	res := Run(f.ctx(), f.engine, f.env, p, objs)
	mustSucceed(t, res)
	wantOutcome(t, res, "Namespace", f.env.Namespace, Unchanged)
	wantOutcome(t, res, "ConfigMap", "web", Configured)
	if n := reads.Load(); n != 0 {
		t.Errorf("the apply read the unchanged Namespace %d times, waiting for it", n)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
