package workflow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// planOnly is a Target that cannot apply.
type planOnly struct{}

func (planOnly) Scope() render.Scoper { return nil }
func (planOnly) Compute(context.Context, *repoconfig.Environment, plan.Basis, *render.Result) (*plan.Plan, error) {
	return &plan.Plan{}, nil
}

// fakeApplier plans every rendered object as a create, with a fixed digest
// and optional error changes, and records what it was asked to apply.
type fakeApplier struct {
	planOnly
	digest  string
	errors  int
	calls   []string // "apply", in order with the started callback's "started"
	applied []*unstructured.Unstructured
}

func (f *fakeApplier) ComputeWithObjects(_ context.Context, env *repoconfig.Environment, b plan.Basis, r *render.Result) (*plan.Plan, []*unstructured.Unstructured, error) {
	p := &plan.Plan{Repository: b.Repository, Environment: env.Name, Commit: b.Commit, Digest: f.digest}
	var objs []*unstructured.Unstructured
	for _, o := range r.Objects {
		p.Changes = append(p.Changes, plan.Change{Ref: plan.Ref{Version: "v1", Kind: o.Object.GetKind(), Name: o.Object.GetName()}, Action: plan.Create})
		objs = append(objs, o.Object)
	}
	for range f.errors {
		p.Changes = append(p.Changes, plan.Change{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Name: "bad"}, Action: plan.Error, Message: "denied"})
	}
	return p, objs, nil
}

func (f *fakeApplier) Apply(_ context.Context, env *repoconfig.Environment, p *plan.Plan, objects []*unstructured.Unstructured) *apply.Result {
	f.calls = append(f.calls, "apply")
	f.applied = objects
	return &apply.Result{Env: env.Name, Digest: p.Digest}
}

type oneTarget struct{ t kube.Target }

func (o oneTarget) Resolve(env *repoconfig.Environment) (kube.Resolved, error) {
	return kube.Resolved{Key: kube.TargetKey{Cluster: env.Cluster}}, nil
}

func (o oneTarget) Target(context.Context, kube.TargetKey) (kube.Target, error) { return o.t, nil }

func applyRepo(t *testing.T) (string, *repoconfig.Config) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		".slipway.yaml": "version: 1\nenvironments:\n  - {name: staging, path: deploy, cluster: c}\n",
		"deploy/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := repoconfig.Parse(".slipway.yaml", []byte(files[".slipway.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

const (
	digestNow      = "sha256:1111111111111111aaaa"
	digestReviewed = "sha256:2222222222222222bbbb"
)

func TestApplyEnvironment(t *testing.T) {
	tests := []struct {
		name      string
		target    func() kube.Target
		reviewed  string
		failStart bool
		wantErr   []string
		wantIs    error
		applied   bool
	}{
		{name: "applies the reviewed plan", target: func() kube.Target { return &fakeApplier{digest: digestNow} }, reviewed: digestNow, applied: true},
		{name: "applies without a reviewed digest", target: func() kube.Target { return &fakeApplier{digest: digestNow} }, applied: true},
		{name: "refuses a changed plan", target: func() kube.Target { return &fakeApplier{digest: digestNow} }, reviewed: digestReviewed,
			wantIs: ErrPlanChanged, wantErr: []string{"sha256:222222222222", "sha256:111111111111"}},
		{name: "refuses a plan with errors", target: func() kube.Target { return &fakeApplier{digest: digestNow, errors: 2} },
			wantErr: []string{"2 errors", "nothing was applied", "ConfigMap/bad: denied"}},
		{name: "refuses a cluster that cannot apply", target: func() kube.Target { return planOnly{} },
			wantErr: []string{`cluster "c" cannot apply`}},
		{name: "stops when the records cannot start", target: func() kube.Target { return &fakeApplier{digest: digestNow} }, failStart: true,
			wantErr: []string{"before applying staging: no records"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, cfg := applyRepo(t)
			target := tc.target()
			fa, _ := target.(*fakeApplier)
			started := func(p *plan.Plan) error {
				if fa != nil {
					fa.calls = append(fa.calls, "started")
				}
				if tc.failStart {
					return errors.New("no records")
				}
				return nil
			}
			p, res, err := ApplyEnvironment(context.Background(), tree, cfg, "staging", "abc", oneTarget{target}, PlanOptions{}, tc.reviewed, started)
			if p == nil {
				t.Fatal("no plan returned")
			}
			if tc.applied {
				if err != nil || res == nil {
					t.Fatalf("err %v, result %v", err, res)
				}
				if strings.Join(fa.calls, ",") != "started,apply" || len(fa.applied) != 1 || fa.applied[0].GetName() != "a" {
					t.Errorf("calls %v, applied %v", fa.calls, fa.applied)
				}
				return
			}
			if err == nil || res != nil {
				t.Fatalf("err %v, result %v: want a refusal", err, res)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err %v is not %v", err, tc.wantIs)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not contain %q", err, w)
				}
			}
			if fa != nil && strings.Contains(strings.Join(fa.calls, ","), "apply") {
				t.Errorf("applied despite the refusal: calls %v", fa.calls)
			}
			if fa != nil && !tc.failStart && len(fa.calls) > 0 {
				t.Errorf("records started for a refused apply: calls %v", fa.calls)
			}
		})
	}
}
