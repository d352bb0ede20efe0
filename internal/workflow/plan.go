// Package workflow runs slipway's jobs from a repository tree to a result:
// render each environment, ask its cluster what would change. It depends on
// small interfaces, so the CLI and the server share it.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// PlanOptions tune PlanEnvironments.
type PlanOptions struct {
	// Repository (owner/name) is whose environments are planned: an
	// environment's inventory in the cluster is its repository's, so that
	// two repositories with an environment of one name in one namespace
	// never prune each other's objects. Required by the cluster targets.
	Repository string
	Render     render.Options
	// Limits bound each render, which runs in a child process (renderproc);
	// zero fields take the defaults.
	Limits renderproc.Limits
	// Rendered, when set, is the environment's render at the tree already
	// made (by affected.Renders, unplaced, with Render's options and
	// Limits), taken instead of rendering again: for one environment only,
	// and used up by the plan (placing it edits it).
	Rendered *render.Result
}

// PlanEnvironments plans the named environments of cfg in the checkout at
// tree, in parallel, and returns one plan per name in the order given. A
// failure of one environment (a render error, an unreachable cluster) is
// that plan's Err, so a report can show it beside the others; the error
// returned is only for the caller's context ending.
func PlanEnvironments(ctx context.Context, tree string, cfg *repoconfig.Config, names []string, commit string, targets kube.Targets, opts PlanOptions) ([]*plan.Plan, error) {
	plans := make([]*plan.Plan, len(names))
	var wg sync.WaitGroup
	var caught recovery.Caught
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer caught.Recover()
			plans[i] = planOne(ctx, tree, cfg, name, commit, targets, opts)
		}()
	}
	wg.Wait()
	caught.Repanic()
	return plans, ctx.Err()
}

func planOne(ctx context.Context, tree string, cfg *repoconfig.Config, name, commit string, targets kube.Targets, opts PlanOptions) *plan.Plan {
	p, _ := PlanEnvironment(ctx, tree, cfg, name, commit, targets, opts)
	return p
}

// PlanEnvironment plans one environment. It always returns a plan; when the
// plan failed as a whole, p.Err says why and err is the cause, which may
// locate the problem (a *render.Error has the file and line).
func PlanEnvironment(ctx context.Context, tree string, cfg *repoconfig.Config, name, commit string, targets kube.Targets, opts PlanOptions) (p *plan.Plan, err error) {
	failed := func(err error) (*plan.Plan, error) {
		return &plan.Plan{Environment: name, Commit: commit, Err: err.Error()}, err
	}
	env, ok := cfg.Environment(name)
	if !ok {
		return failed(fmt.Errorf("no environment %q in %s", name, cfg.Source()))
	}
	target, key, renderEnv, err := targetFor(ctx, tree, env, targets, opts)
	if err != nil {
		return failed(err)
	}
	p, _, err = computeRendering(ctx, target, env, basisOf(opts.Repository, cfg, key, commit), renderEnv, false)
	if err != nil {
		return failed(err)
	}
	if env.Reconciled() {
		p.Notes = append(p.Notes, report.ReconciledNote(env.Reconciler.String(), env.FieldManager()))
	}
	return p, nil
}

// renderFor resolves env's cluster and renders env in the checkout at tree,
// the cluster's discovery deciding which kinds are namespaced: the step
// plan and apply share. It returns the key the target was resolved with
// (the environment's identity, or the server config's default), which the
// plan's digest covers.
func renderFor(ctx context.Context, tree string, env *repoconfig.Environment, targets kube.Targets, opts PlanOptions) (kube.Target, kube.TargetKey, *render.Result, error) {
	target, key, renderEnv, err := targetFor(ctx, tree, env, targets, opts)
	if err != nil {
		return nil, key, nil, err
	}
	rendered, err := renderEnv(ctx)
	if err != nil {
		return nil, key, nil, err
	}
	return target, key, rendered, nil
}

// targetFor resolves env's cluster, as renderFor does, and returns the
// render of env in the checkout at tree on it, still to be made, so that a
// target can read the cluster meanwhile (see computeRendering).
func targetFor(ctx context.Context, tree string, env *repoconfig.Environment, targets kube.Targets, opts PlanOptions) (kube.Target, kube.TargetKey, plan.Render, error) {
	resolved, err := targets.Resolve(env)
	if err != nil {
		return nil, kube.TargetKey{Cluster: env.Cluster}, nil, fmt.Errorf("cluster %q: %w", env.Cluster, err)
	}
	key := resolved.Key
	target, err := targets.Target(ctx, key)
	if err != nil {
		if !key.ServiceAccount.IsZero() {
			return nil, key, nil, fmt.Errorf("cluster %q as service account %s: %w", env.Cluster, key.ServiceAccount, err)
		}
		return nil, key, nil, fmt.Errorf("cluster %q: %w", env.Cluster, err)
	}
	target, lookup, err := reconciledTarget(ctx, target, env, opts.Repository)
	if err != nil {
		return nil, key, nil, err
	}
	renderEnv := func(ctx context.Context) (*render.Result, error) {
		ropts := opts.Render
		ropts.Repository = opts.Repository
		ropts.LookupSource = lookup
		ropts.Scope = target.Scope()
		if c, ok := target.(kube.Capable); ok {
			var err error
			if ropts.Capabilities, err = c.Capabilities(ctx); err != nil {
				return nil, fmt.Errorf("cluster %q: %w", env.Cluster, err)
			}
		}
		if pre := opts.Rendered; pre != nil && pre.Kind != render.KindHelm {
			// Made with opts.Render, without the cluster's Scope and
			// Capabilities: the Scope is placed here, as renderproc.Render
			// does once the child answers, and Capabilities (like charts and
			// hooks) matter to Helm charts only, which render again.
			if ropts.Scope != nil {
				if err := render.Place(pre, env.Namespace, ropts.Scope); err != nil {
					return nil, renderError(err)
				}
			}
			return pre, nil
		}
		rendered, err := renderproc.Render(ctx, tree, env, ropts, opts.Limits)
		if err != nil {
			return nil, renderError(err)
		}
		return rendered, nil
	}
	return target, key, renderEnv, nil
}

// renderingTarget is a target that reads the cluster while the render is
// made (plan.Engine.ComputeRendering).
type renderingTarget interface {
	ComputeRendering(ctx context.Context, env *repoconfig.Environment, basis plan.Basis, render plan.Render) (*plan.Plan, []*unstructured.Unstructured, error)
}

// computeRendering renders env with renderEnv and plans it on target,
// overlapping the render with the target's reads when it can, one after
// the other when it cannot. An apply (objects) also gets the objects the
// plan would send, and target must then be a kube.Applier.
func computeRendering(ctx context.Context, target kube.Target, env *repoconfig.Environment, basis plan.Basis, renderEnv plan.Render, objects bool) (*plan.Plan, []*unstructured.Unstructured, error) {
	if rt, ok := target.(renderingTarget); ok {
		return rt.ComputeRendering(ctx, env, basis, renderEnv)
	}
	rendered, err := renderEnv(ctx)
	if err != nil {
		return nil, nil, err
	}
	if a, ok := target.(kube.Applier); ok && objects {
		return a.ComputeWithObjects(ctx, env, basis, rendered)
	}
	p, err := target.Compute(ctx, env, basis, rendered)
	return p, nil, err
}

// basisOf is what, besides the objects, a plan of repository repo's commit
// under cfg on key is made from: the repository decides whose inventory the
// plan reads, and the digest covers all of it, so a change of rules,
// cluster or identity between review and /apply refuses the apply.
func basisOf(repo string, cfg *repoconfig.Config, key kube.TargetKey, commit string) plan.Basis {
	return plan.Basis{Repository: repo, Commit: commit, ConfigBlob: cfg.BlobSHA, Cluster: key.Cluster, ServiceAccount: key.ServiceAccount.String()}
}

// renderError keeps a located render error as it is (file:line: message)
// and a render stopped at a limit as it is (it says so), and labels
// anything else as a render failure.
func renderError(err error) error {
	var located *render.Error
	var limit *renderproc.LimitError
	if errors.As(err, &located) || errors.As(err, &limit) {
		return err
	}
	return fmt.Errorf("render: %w", err)
}
