package workflow

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/reconciler"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// fluxConfig has production applied by Flux, after staging, which slipway
// applies.
const fluxConfig = `version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
  - name: production
    path: deploy/production
    cluster: test
    depends_on: [staging]
    wait: 1s
    reconciler: {flux: {name: apps}}
`

// scriptedReconciler reports one observation after another (the last from
// then on) and records what it was asked.
type scriptedReconciler struct {
	mu         sync.Mutex
	requestErr error
	requested  []string
	steps      []reconciler.Observation
	observed   int
}

func (r *scriptedReconciler) Object() string { return "Flux Kustomization flux-system/apps" }

func (r *scriptedReconciler) PlanMarks(context.Context) (plan.Marks, error) {
	return reconciler.Marks(&repoconfig.Environment{Reconciler: &repoconfig.Reconciler{Flux: &repoconfig.FluxRef{Kind: "Kustomization", Name: "apps", Namespace: "flux-system"}}}), nil
}

func (r *scriptedReconciler) Request(_ context.Context, commit string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requested = append(r.requested, commit)
	return "t", r.requestErr
}

func (r *scriptedReconciler) Observe(context.Context, string) (reconciler.Observation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.steps[min(r.observed, len(r.steps)-1)]
	r.observed++
	return o, nil
}

// reconcilingCluster is the scripted cluster with a scripted reconciler.
type reconcilingCluster struct {
	*scriptedCluster
	rec   *scriptedReconciler
	marks *[]plan.Marks // every ReconciledBy, in order
}

func (c reconcilingCluster) ReconciledBy(m plan.Marks) kube.Target {
	*c.marks = append(*c.marks, m)
	return c
}

func (c reconcilingCluster) Reconciler(*repoconfig.Environment, string) (reconciler.Reconciler, error) {
	return c.rec, nil
}

func newReconcilingWorld(t *testing.T, rec *scriptedReconciler) (*unitWorld, *[]plan.Marks) {
	w := newUnitWorld(t)
	marks := &[]plan.Marks{}
	rc := reconcilingCluster{scriptedCluster: w.cluster, rec: rec, marks: marks}
	w.s.Targets = func(string) kube.Targets { return oneTarget{rc} }
	w.s.FollowPoll = time.Millisecond
	return w, marks
}

// A merge applies staging and, for production, asks Flux to reconcile the
// merge commit and records what Flux reports as production's Deployment:
// slipway applies nothing of production.
func TestUnitReconciledMerge(t *testing.T) {
	tests := []struct {
		name  string
		rec   *scriptedReconciler
		state string // production's Deployment
		says  string // in the merge's outcome comment
		event string // the Observer's outcome of production's rollout
	}{
		{"applied", &scriptedReconciler{steps: []reconciler.Observation{{Applied: baseSHA}, {Applied: mergeSHA, Message: "Applied revision: main@sha1:" + mergeSHA}}},
			"success", "Flux Kustomization flux-system/apps applied " + short(mergeSHA), OutcomeSuccess},
		{"rejected", &scriptedReconciler{steps: []reconciler.Observation{{Applied: baseSHA, Attempted: mergeSHA, Failed: true, Message: "ConfigMap/shop/a dry-run failed: data too long"}}},
			"failure", "failed: Flux Kustomization flux-system/apps failed at " + short(mergeSHA) + ": ConfigMap/shop/a dry-run failed: data too long", OutcomeFailure},
		{"never there", &scriptedReconciler{steps: []reconciler.Observation{{Applied: baseSHA}}},
			"error", "did not report " + short(mergeSHA) + " applied within 1s", OutcomeError},
		{"not this repository's", &scriptedReconciler{requestErr: errorString("Flux Kustomization flux-system/apps deploys from https://github.com/acme/payments, not from acme/shop"), steps: []reconciler.Observation{{}}},
			"error", "not from acme/shop", OutcomeError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newReconcilingWorld(t, tt.rec)
			heard := &recorder{}
			w.s.Observer = heard
			ctx := context.Background()
			base := unitFiles(fluxConfig)
			changed := []string{"deploy/production/a.yaml", "deploy/staging/a.yaml"}
			merged := with(base, map[string]string{"deploy/production/a.yaml": configMap("a", "v2"), "deploy/staging/a.yaml": configMap("a", "v2")})
			w.mergedPR(base, merged, changed)

			if err := w.s.DeployMerged(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if got := w.cluster.appliedEnvs(); !slices.Equal(got, []string{"staging"}) {
				t.Errorf("slipway applied %v, want only staging", got)
			}
			if !slices.Equal(tt.rec.requested, []string{mergeSHA}) {
				t.Errorf("reconcile requested at %v, want the merge commit", tt.rec.requested)
			}
			var prod *ghtestDeployment
			for _, d := range w.gh.Deployments() {
				if d.Environment == "production" {
					prod = &ghtestDeployment{d.Ref, d.State, d.Description, d.Payload, len(d.Statuses)}
				}
			}
			if prod == nil {
				t.Fatal("no Deployment of production")
			}
			p, _ := prod.payload.(deploymentPayload)
			if prod.ref != mergeSHA || prod.state != tt.state || prod.statuses != 2 || p.Reconciler != "Flux Kustomization flux-system/apps" || p.Tool != deploymentTool || p.PlanDigest != "" {
				t.Errorf("production Deployment %+v (payload %+v), want %s at the merge after in_progress, naming the Kustomization", prod, p, tt.state)
			}
			run, ok := w.runNamed(mergeSHA, checkApplyPrefix+"production")
			want := map[bool]string{true: "success", false: "failure"}[tt.state == "success"]
			if !ok || run.Conclusion != want {
				t.Errorf("production apply run %+v (found %v), want %s", run, ok, want)
			}
			w.botSays(1, report.TableCell(tt.says))
			var outcomes []string
			for _, e := range heard.events {
				if e.Env == "production" {
					outcomes = append(outcomes, e.Outcome)
				}
			}
			if !slices.Equal(outcomes, []string{tt.event}) {
				t.Errorf("the Observer heard %v of production, want %s", outcomes, tt.event)
			}
		})
	}
}

type ghtestDeployment struct {
	ref, state, description string
	payload                 any
	statuses                int
}

type errorString string

func (e errorString) Error() string { return string(e) }

// /apply, a redeploy and /rollback of an environment Flux applies are
// refused with the reason, and nothing is requested or applied; its plan is
// the reconciler's (planned with Flux's marks) and says so.
func TestUnitReconciledRefusals(t *testing.T) {
	rec := &scriptedReconciler{steps: []reconciler.Observation{{}}}
	w, marks := newReconcilingWorld(t, rec)
	ctx := context.Background()
	base := unitFiles(fluxConfig)
	w.commit(baseSHA, base)
	w.gh.SetDefaultBranch("main", baseSHA)
	w.commit(head1SHA, with(base, map[string]string{"deploy/production/a.yaml": configMap("a", "v2")}))
	w.gh.SetPermission("alice", "write")
	w.openUnitPR(1, "alice", baseSHA, head1SHA, "deploy/production/a.yaml")

	if err := w.s.PlanPR(ctx, PlanRequest{Number: 1, Envs: []string{"production"}, ByWriter: true}); err != nil {
		t.Fatal(err)
	}
	if len(*marks) == 0 || (*marks)[0].FieldManager != repoconfig.FluxFieldManager || (*marks)[0].Labels["kustomize.toolkit.fluxcd.io/name"] != "apps" {
		t.Errorf("production planned with marks %+v, want kustomize-controller's", *marks)
	}
	w.botSays(1, "Applied by Flux Kustomization flux-system/apps after merge, not by slipway")
	// Policy and the lock are those of any environment.
	if r, ok := w.runNamed(head1SHA, checkPolicyPrefix+"production"); !ok || r.Conclusion != "success" {
		t.Errorf("production policy run %+v (found %v)", r, ok)
	}
	if h, err := w.locks.Holder(ctx, lockKey(unitRepo, "production")); err != nil || h == nil || h.PR != 1 {
		t.Errorf("production's lock: %+v %v, want #1's", h, err)
	}

	cid := w.gh.AddComment(1, "alice", "/apply production")
	if err := w.s.ApplyPR(ctx, CommentRequest{Number: 1, CommentID: cid, User: "alice", Body: "/apply production"}, []string{"production"}); err != nil {
		t.Fatal(err)
	}
	w.botSays(1, "`production` is applied by Flux Kustomization flux-system/apps, not by slipway: merge to deploy it")
	if len(w.cluster.appliedEnvs()) != 0 || len(rec.requested) != 0 || len(w.gh.Deployments()) != 0 {
		t.Errorf("after /apply: applied %v, requested %v, %d deployments", w.cluster.appliedEnvs(), rec.requested, len(w.gh.Deployments()))
	}
	if err := w.s.Rollback(ctx, CommentRequest{Number: 1, CommentID: cid, User: "alice", Body: "/rollback production"}, "production", ""); err != nil {
		t.Fatal(err)
	}
	w.botSays(1, "`/rollback` refused, nothing was applied: `production` is applied by Flux Kustomization flux-system/apps")

	// PrepareApply refuses too, whoever calls it.
	tree := w.src.trees[head1SHA]
	cfg, _ := w.src.Config(ctx, "", "", head1SHA)
	if _, err := PrepareApply(ctx, tree, cfg, "production", head1SHA, w.s.Targets("acme/shop"), w.s.planOptions()); err == nil || !strings.Contains(err.Error(), "not by slipway") {
		t.Errorf("PrepareApply: %v", err)
	}
}
