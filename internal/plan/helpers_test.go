package plan

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

func TestMain(m *testing.M) {
	// The test fixture's applies go through ssa's waits, which log through
	// controller-runtime; the engine itself logs nothing.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(testenv.Main(m, testenv.Options{}))
}

// fixture is one test's engine, namespace and environment on the shared
// cluster.
type fixture struct {
	t      testing.TB
	kube   *testenv.Env
	engine *Engine
	ns     string
	repo   string // owner/name whose environment env is
	env    *repoconfig.Environment
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	kube := testenv.Get(t)
	engine, err := NewEngine(kube.Config(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := testenv.NewNamespace(t, kube)
	return &fixture{t: t, kube: kube, engine: engine, ns: ns, repo: "acme/shop",
		env: &repoconfig.Environment{Name: "staging", Namespace: ns}}
}

func (f *fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	f.t.Cleanup(cancel)
	return ctx
}

// objects decodes multi-document YAML into rendered objects, each placed at
// test.yaml:<document number>. NS in the text is replaced by the fixture's
// namespace.
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
		if len(u.Object) == 0 {
			continue
		}
		out = append(out, render.Object{Object: u, File: "test.yaml", Line: i})
	}
}

func (f *fixture) plan(objs []render.Object) *Plan {
	f.t.Helper()
	p, err := f.engine.Compute(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: objs})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// apply does what the apply step will, short of pruning: plan, record the
// inventory (old and new members: nothing is pruned here), then apply
// exactly the planned objects with the ssa ResourceManager.
func (f *fixture) apply(objs []render.Object) {
	f.t.Helper()
	ctx := f.ctx()
	p, payload, err := f.engine.ComputeWithObjects(ctx, f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: objs})
	if err != nil {
		f.t.Fatal(err)
	}
	var refs []Ref
	for _, ch := range p.Changes {
		if ch.Action == Error {
			f.t.Fatalf("apply: %s: %s", ch.Ref, ch.Message)
		}
		refs = append(refs, ch.Ref)
	}
	if err := f.engine.WriteInventory(ctx, f.repo, f.env, refs); err != nil {
		f.t.Fatal(err)
	}
	opts := ssa.DefaultApplyOptions()
	opts.WaitTimeout = 30 * time.Second
	if _, err := f.engine.ResourceManager().ApplyAllStaged(ctx, payload, opts); err != nil {
		f.t.Fatal(err)
	}
}

func change(t testing.TB, p *Plan, kind, name string) Change {
	t.Helper()
	for _, ch := range p.Changes {
		if ch.Ref.Kind == kind && ch.Ref.Name == name {
			return ch
		}
	}
	t.Fatalf("plan has no %s %s; changes: %v", kind, name, summary(p))
	return Change{}
}

func summary(p *Plan) []string {
	var s []string
	for _, ch := range p.Changes {
		s = append(s, string(ch.Action)+" "+ch.Ref.String())
	}
	return s
}

func wantAction(t testing.TB, ch Change, want Action) {
	t.Helper()
	if ch.Action != want {
		t.Fatalf("%s: action %s, want %s\nmessage: %s\nbefore:\n%s\nafter:\n%s", ch.Ref, ch.Action, want, ch.Message, ch.Before, ch.After)
	}
}
