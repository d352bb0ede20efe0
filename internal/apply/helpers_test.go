package apply

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// The cluster runs controllers, a scheduler and a kwok node, so that
// Deployments really roll out; pods labelled with testenv.CrashLoopLabel
// never become ready.
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, testenv.Options{
		Nodes:       true,
		ExtraStages: []string{testenv.CrashLoopStage(testenv.CrashLoopLabel, "true")},
	}))
}

// fixture is one test's engine, namespace and environment.
type fixture struct {
	t      *testing.T
	kube   *testenv.Env
	engine *plan.Engine
	ns     string
	repo   string // owner/name whose environment env is
	env    *repoconfig.Environment
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	kube := testenv.Get(t)
	engine, err := plan.NewEngine(kube.Config(), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := testenv.NewNamespace(t, kube)
	return &fixture{t: t, kube: kube, engine: engine, ns: ns, repo: "acme/shop", env: &repoconfig.Environment{
		Name: "staging", Namespace: ns,
		Wait: repoconfig.Duration{Set: true}, // no health wait unless a test asks
	}}
}

func (f *fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	f.t.Cleanup(cancel)
	return ctx
}

// objects decodes multi-document YAML; NS is replaced by the namespace.
func (f *fixture) objects(text string) []render.Object {
	f.t.Helper()
	text = strings.ReplaceAll(text, "NS", f.ns)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewBufferString(text), 4096)
	var out []render.Object
	for i := 1; ; i++ {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			f.t.Fatalf("decode document %d: %v", i, err)
		}
		if len(u.Object) > 0 {
			out = append(out, render.Object{Object: u, File: "test.yaml", Line: i})
		}
	}
}

// plan computes the plan and the objects to send.
func (f *fixture) plan(text string) (*plan.Plan, []*unstructured.Unstructured) {
	f.t.Helper()
	p, objs, err := f.engine.ComputeWithObjects(f.ctx(), f.env, plan.Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: f.objects(text)})
	if err != nil {
		f.t.Fatal(err)
	}
	return p, objs
}

// apply plans text and applies it.
func (f *fixture) apply(text string) *Result {
	f.t.Helper()
	p, objs := f.plan(text)
	return Run(f.ctx(), f.engine, f.env, p, objs)
}

// mustSucceed fails the test unless res succeeded.
func mustSucceed(t *testing.T, res *Result) {
	t.Helper()
	if res.Failed() {
		t.Fatalf("apply failed: %s\n%s", res.Err, res.Text())
	}
}

func outcome(t *testing.T, res *Result, kind, name string) ObjectResult {
	t.Helper()
	for _, o := range res.Objects {
		if o.Ref.Kind == kind && o.Ref.Name == name {
			return o
		}
	}
	t.Fatalf("result has no %s %s:\n%s", kind, name, res.Text())
	return ObjectResult{}
}

func wantOutcome(t *testing.T, res *Result, kind, name string, want Outcome) ObjectResult {
	t.Helper()
	o := outcome(t, res, kind, name)
	if o.Outcome != want {
		t.Errorf("%s %s: %s (%s), want %s", kind, name, o.Outcome, o.Message, want)
	}
	return o
}

// live reads an object; nil when absent or being deleted.
func (f *fixture) live(ref plan.Ref) *unstructured.Unstructured {
	f.t.Helper()
	gvr, ok := resources[ref.Kind]
	if !ok {
		f.t.Fatalf("no resource for kind %s", ref.Kind)
	}
	u, err := f.kube.Dynamic().Resource(gvr).Namespace(ref.Namespace).Get(f.ctx(), ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	if u.GetDeletionTimestamp() != nil {
		return nil
	}
	return u
}

var resources = map[string]schema.GroupVersionResource{
	"ConfigMap":  {Version: "v1", Resource: "configmaps"},
	"Secret":     {Version: "v1", Resource: "secrets"},
	"Namespace":  {Version: "v1", Resource: "namespaces"},
	"Deployment": {Group: "apps", Version: "v1", Resource: "deployments"},
	"Pod":        {Version: "v1", Resource: "pods"},
}

// honest checks that the result claims an object reached the cluster
// exactly when it is there: created, configured and unchanged objects
// exist; not-applied and failed creations do not.
func (f *fixture) honest(res *Result, planned *plan.Plan) {
	f.t.Helper()
	actions := map[plan.Ref]plan.Action{}
	for _, ch := range planned.Changes {
		actions[ch.Ref] = ch.Action
	}
	for _, o := range res.Objects {
		exists := f.live(o.Ref) != nil
		switch {
		case isApplied(o.Outcome) && !exists:
			f.t.Errorf("%s is reported %s but is not in the cluster", o.Ref, o.Outcome)
		case (o.Outcome == NotApplied || o.Outcome == Failed) && actions[o.Ref] == plan.Create && exists:
			f.t.Errorf("%s is reported %s but is in the cluster", o.Ref, o.Outcome)
		}
	}
}
