package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/reconciler"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// reconciledTarget is target as env is planned: as its reconciler applies,
// with what the reconciler applied before (repo's environment, as the
// target's identity reads it), when one applies env. The lookup it returns,
// when not nil, reads the Flux chart sources a HelmRelease's render needs
// from the cluster, as the same identity.
func reconciledTarget(ctx context.Context, target kube.Target, env *repoconfig.Environment, repo string) (kube.Target, render.SourceFunc, error) {
	if !env.Reconciled() {
		return target, nil, nil
	}
	rt, ok := target.(kube.Reconciling)
	if !ok {
		return nil, nil, fmt.Errorf("cluster %q cannot plan an environment that %s applies", env.Cluster, env.Reconciler)
	}
	rec, err := rt.Reconciler(env, repo)
	if err != nil {
		return nil, nil, err
	}
	marks, err := rec.PlanMarks(ctx)
	if err != nil {
		return nil, nil, err
	}
	var lookup render.SourceFunc
	if r, ok := rec.(reconciler.SourceReader); ok {
		lookup = r.LookupSource
	}
	return rt.ReconciledBy(marks), lookup, nil
}

// notApplied says why slipway does not apply env itself, or "" when it does.
func notApplied(env *repoconfig.Environment) string {
	if !env.Reconciled() {
		return ""
	}
	return report.NotAppliedBySlipway(env.Name, env.Reconciler.String())
}

// follow is the rollout of an environment a reconciler applies: slipway
// asks the reconciler to reconcile ro.commit now, records a Deployment and
// an apply check run in progress, follows the reconciler's status for up to
// the environment's wait, and completes both with what the reconciler said.
// It applies nothing itself. The caller holds the environment's run lease.
func (s *Session) follow(ctx context.Context, ro rollout, out rolled) rolled {
	log := zerolog.Ctx(ctx).With().Str("env", ro.env.Name).Str("sha", ro.commit).Logger()
	rec, err := s.reconcilerOf(ctx, ro.env)
	if err != nil {
		out.refused = err
		log.Info().Err(err).Msg("reconcile refused")
		return out
	}
	var checkID, deployID int64
	checkID, out.logURL, err = s.GitHub.CreateCheckRun(ctx, s.Repo, gh.CheckRun{
		Name: checkApplyPrefix + ro.env.Name, HeadSHA: ro.commit, Status: "in_progress",
		Title:   report.WaitingFor(rec.Object()),
		Summary: report.Following(ro.env.Name, rec.Object(), ro.commit, followTimeout(ro.env).String()),
	})
	if err == nil {
		deployID, err = s.GitHub.CreateDeployment(ctx, s.Repo, gh.Deployment{
			Ref: ro.commit, Environment: ro.env.Name, Production: ro.env.Production,
			Description: report.ReconciledDeployment(ro.whatFor(), short(ro.commit), rec.Object()),
			Payload:     deploymentPayload{PullRequest: ro.number, Tool: deploymentTool, Reconciler: rec.Object()},
		})
	}
	if err == nil {
		err = s.GitHub.CreateDeploymentStatus(ctx, s.Repo, deployID, gh.DeploymentStatus{
			State: "in_progress", Description: report.WaitingFor(rec.Object()), LogURL: out.logURL, EnvironmentURL: ro.env.URL,
		})
	}
	outcome := reconciler.Outcome{State: "error", Message: fmt.Sprintf("recording the deploy failed: %v", err)}
	if err == nil {
		outcome = reconciler.Follow(ctx, rec, ro.commit, reconciler.FollowOptions{
			Wait: followTimeout(ro.env), Poll: s.FollowPoll, Includes: s.includes(ro.commit),
		})
	}
	out.followed = &outcome
	ctx = context.WithoutCancel(ctx)
	if checkID != 0 {
		run := gh.CheckRun{Name: checkApplyPrefix + ro.env.Name, Status: "completed", Conclusion: "success", Title: out.summary(),
			Summary: report.Followed(ro.env.Name, rec.Object(), ro.commit, outcome.State, outcome.Message)}
		if !out.ok() {
			run.Conclusion = "failure"
		}
		if err := s.GitHub.UpdateCheckRun(ctx, s.Repo, checkID, run); err != nil {
			log.Error().Err(err).Msg("complete apply check run")
		}
	}
	if deployID != 0 {
		if err := s.GitHub.CreateDeploymentStatus(ctx, s.Repo, deployID, gh.DeploymentStatus{
			State: outcome.State, Description: outcome.Message, LogURL: out.logURL, EnvironmentURL: ro.env.URL,
		}); err != nil {
			log.Error().Err(err).Msg("complete deployment")
		}
	}
	log.Info().Str("state", outcome.State).Str("reconciler", rec.Object()).Msg("followed the reconciler")
	return out
}

// reconcilerOf reaches env's reconciler on its cluster, as the identity
// the server config allows the repository there.
func (s *Session) reconcilerOf(ctx context.Context, env *repoconfig.Environment) (reconciler.Reconciler, error) {
	targets := s.Targets(s.Repo.String())
	resolved, err := targets.Resolve(env)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", env.Cluster, err)
	}
	target, err := targets.Target(ctx, resolved.Key)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", env.Cluster, err)
	}
	rt, ok := target.(kube.Reconciling)
	if !ok {
		return nil, fmt.Errorf("cluster %q cannot reach %s", env.Cluster, env.Reconciler)
	}
	return rt.Reconciler(env, s.Repo.String())
}

// includes reports whether a commit the reconciler applied descends from
// commit: then it applied commit too.
func (s *Session) includes(commit string) func(ctx context.Context, rev string) (bool, error) {
	return func(ctx context.Context, rev string) (bool, error) {
		cmp, err := s.GitHub.Compare(ctx, s.Repo, commit, rev)
		if err != nil {
			return false, err
		}
		return cmp.Status == "ahead", nil
	}
}

// followTimeout is how long slipway follows env's reconciler: its wait, or
// the default when it sets 0 (following is all there is to wait for).
func followTimeout(env *repoconfig.Environment) time.Duration {
	if w := env.WaitTimeout(); w > 0 {
		return w
	}
	return repoconfig.DefaultWait
}
