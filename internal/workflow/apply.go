package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// ErrPlanChanged refuses an apply whose fresh plan is not the one reviewed.
var ErrPlanChanged = errors.New("the plan changed since it was reviewed")

// ApplyEnvironment renders the environment name of cfg in the checkout at
// tree, plans it afresh and applies exactly the objects it planned. It
// refuses, applying nothing, when reviewed is not "" and the fresh plan's
// digest differs (ErrPlanChanged, wrapped with both short digests), when
// the plan failed or has errors, and when the environment's cluster cannot
// apply. started, when not nil, is called with the fresh plan once it is
// known to be applicable and before anything is sent (to open records); its
// error stops the apply.
//
// The plan is returned whenever one was made. An apply that ran returns its
// Result and a nil error, even when it failed part-way: Result.Err says
// how, and which objects reached the cluster.
func ApplyEnvironment(ctx context.Context, tree string, cfg *repoconfig.Config, name, commit string, targets kube.Targets, opts PlanOptions, reviewed string, started func(*plan.Plan) error) (*plan.Plan, *apply.Result, error) {
	pa, err := PrepareApply(ctx, tree, cfg, name, commit, targets, opts)
	if err != nil {
		return pa.Plan, nil, err
	}
	res, err := pa.Apply(ctx, reviewed, started)
	return pa.Plan, res, err
}

// PreparedApply is an environment planned for apply: the plan to show and
// what applying it would send.
type PreparedApply struct {
	// Plan is always set; on failure its Err says why.
	Plan    *plan.Plan
	env     *repoconfig.Environment
	applier kube.Applier
	objects []*unstructured.Unstructured
}

// PrepareApply renders and plans the environment name for applying, like
// PlanEnvironment, keeping the objects the plan dry-ran. The returned value
// is never nil.
func PrepareApply(ctx context.Context, tree string, cfg *repoconfig.Config, name, commit string, targets kube.Targets, opts PlanOptions) (*PreparedApply, error) {
	failed := func(err error) (*PreparedApply, error) {
		return &PreparedApply{Plan: &plan.Plan{Environment: name, Commit: commit, Err: err.Error()}}, err
	}
	env, ok := cfg.Environment(name)
	if !ok {
		return failed(fmt.Errorf("no environment %q in %s", name, cfg.Source()))
	}
	if why := notApplied(env); why != "" {
		return failed(errors.New(why))
	}
	target, key, renderEnv, err := targetFor(ctx, tree, env, targets, opts)
	if err != nil {
		return failed(err)
	}
	applier, ok := target.(kube.Applier)
	if !ok {
		if _, err := renderEnv(ctx); err != nil {
			return failed(err) // a render error first, as for a plan
		}
		return failed(fmt.Errorf("cluster %q cannot apply: slipway can only plan against it", env.Cluster))
	}
	p, objects, err := computeRendering(ctx, applier, env, basisOf(opts.Repository, cfg, key, commit), renderEnv, true)
	if err != nil {
		return failed(err)
	}
	return &PreparedApply{Plan: p, env: env, applier: applier, objects: objects}, nil
}

// Apply applies the prepared plan, after the checks ApplyEnvironment
// describes (reviewed, plan errors, started).
func (pa *PreparedApply) Apply(ctx context.Context, reviewed string, started func(*plan.Plan) error) (*apply.Result, error) {
	p := pa.Plan
	if p.Err != "" || pa.applier == nil {
		return nil, fmt.Errorf("plan %s failed, so nothing was applied: %s", p.Environment, p.Err)
	}
	if reviewed != "" && reviewed != p.Digest {
		return nil, fmt.Errorf("%w (reviewed %s, now %s): review the new plan and apply again",
			ErrPlanChanged, shortDigest(reviewed), shortDigest(p.Digest))
	}
	if err := planErrors(p); err != nil {
		return nil, err
	}
	if started != nil {
		if err := started(p); err != nil {
			return nil, fmt.Errorf("before applying %s: %w", p.Environment, err)
		}
	}
	return pa.applier.Apply(ctx, pa.env, p, pa.objects), nil
}

// planErrors refuses a plan with objects the cluster rejected at dry-run:
// applying the rest would leave the environment half-changed.
func planErrors(p *plan.Plan) error {
	var bad []string
	for _, ch := range p.Changes {
		if ch.Action == plan.Error {
			bad = append(bad, fmt.Sprintf("%s: %s", ch.Ref, ch.Message))
		}
	}
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("the plan of %s has an error, so nothing was applied: %s", p.Environment, bad[0])
	}
	return fmt.Errorf("the plan of %s has %d errors, so nothing was applied; the first: %s", p.Environment, len(bad), bad[0])
}

// shortDigest is "sha256:" and the first 12 hex digits: enough to tell two
// plans apart in a message.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		alg, hex = "", d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	if alg == "" {
		return hex
	}
	return alg + ":" + hex
}
