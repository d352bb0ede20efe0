package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/reconciler"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/soakfault"
)

// rollout is one environment made to match one commit, with its records:
// a slipway/apply check run on the commit and a GitHub Deployment.
type rollout struct {
	kind     string // KindApply, KindDeploy, KindRollback or KindReconcile
	env      *repoconfig.Environment
	commit   string // the pull request's head (/apply) or the merge commit
	number   int    // the pull request; 0 for a direct push
	reviewed string // the plan digest a reviewer saw; "" after a merge
	cause    string // what started it when no pull request did: "direct push", "drift"
	// guarded rollouts follow the default branch: under the run lease they
	// make sure the environment is not at commit, or newer, already.
	guarded bool
	// rollbackOf is the default branch's head a reviewed rollback takes
	// the environment back from: recorded with the Deployment, it keeps
	// the deploy loop from redeploying that head.
	rollbackOf string
}

// rolled is what a rollout came to.
type rolled struct {
	env    string
	plan   *plan.Plan
	result *apply.Result
	// followed is how following the reconciler of an environment slipway
	// does not apply ended (reconcile.go); nil for slipway's own applies.
	followed *reconciler.Outcome
	refused  error  // nothing was applied and nothing recorded (plan changed, plan errors)
	err      error  // the rollout failed outside the apply itself (cluster, records)
	skipped  string // why it did not start (a dependency failed)
	logURL   string
}

func (r rolled) ok() bool {
	if r.followed != nil {
		return r.refused == nil && r.err == nil && r.skipped == "" && r.followed.State == "success"
	}
	return r.refused == nil && r.err == nil && r.skipped == "" && r.result != nil && !r.result.Failed()
}

// roll applies ro.env at ro.commit from the checkout at tree. Records are
// made only once the fresh plan is known to match what was reviewed, so a
// refused apply leaves no trace but its reply.
func (s *Session) roll(ctx context.Context, cfg *repoconfig.Config, tree string, ro rollout) rolled {
	log := zerolog.Ctx(ctx).With().Str("env", ro.env.Name).Str("sha", ro.commit).Logger()
	out := rolled{env: ro.env.Name}
	began := time.Now()
	defer func() {
		if !errors.Is(out.refused, ErrAlreadyThere) { // not an attempt: nothing to do
			s.observe(ro.event(out, time.Since(began)))
		}
	}()
	// One apply of an environment at a time, across replicas.
	ctx, end, err := s.Runs.Begin(ctx, lockKey(s.Repo, ro.env.Name), ro.what())
	var running *lock.ErrRunning
	switch {
	case errors.As(err, &running):
		out.refused = err
		log.Info().Err(err).Msg("apply refused")
		return out
	case err != nil:
		// The run store (the API server) could not be asked: nothing says
		// the head cannot be applied, so this is no refusal to record as a
		// failed Deployment, which the deploy loop would never retry.
		out.err = fmt.Errorf("mark the apply of %s as running: %w", ro.env.Name, err)
		log.Warn().Err(err).Msg("apply not started")
		return out
	}
	defer end()
	if ro.guarded {
		if err := s.notBehind(ctx, ro.env.Name, ro.commit); err != nil {
			out.refused = err
			log.Info().Err(err).Msg("deploy not needed")
			return out
		}
	}
	if ro.env.Reconciled() {
		out = s.follow(ctx, ro, out)
		return out
	}
	if soakfault.On(soakfault.ApplyCut) && ro.reviewed != "" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
	}
	var checkID, deployID int64
	started := func(p *plan.Plan) error {
		var err error
		checkID, out.logURL, err = s.GitHub.CreateCheckRun(ctx, s.Repo, gh.CheckRun{
			Name: checkApplyPrefix + ro.env.Name, HeadSHA: ro.commit, Status: "in_progress", ExternalID: p.Digest,
			Title: "Applying " + report.Summary(p), Summary: report.Applying(ro.env.Name),
		})
		if err != nil {
			return err
		}
		deployID, err = s.GitHub.CreateDeployment(ctx, s.Repo, gh.Deployment{
			Ref:         ro.commit,
			Environment: ro.env.Name,
			Description: deploymentDescription(ro, p),
			Production:  ro.env.Production,
			Payload:     deploymentPayload{PullRequest: ro.number, PlanDigest: recordedDigest(p.Digest), Tool: deploymentTool, RollbackOf: ro.rollbackOf},
		})
		if err != nil {
			return err
		}
		return s.GitHub.CreateDeploymentStatus(ctx, s.Repo, deployID, gh.DeploymentStatus{
			State: "in_progress", Description: "applying " + report.Summary(p), LogURL: out.logURL, EnvironmentURL: ro.env.URL,
		})
	}
	p, result, err := ApplyEnvironment(ctx, tree, cfg, ro.env.Name, ro.commit, s.Targets(s.Repo.String()), s.planOptions(), ro.reviewed, started)
	out.plan, out.result = p, result
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, lock.ErrRunLost) {
		err = cause // say why the apply stopped, not just "context canceled"
		if result != nil && result.Err == "" {
			result.Err = cause.Error()
		}
	}
	if checkID == 0 && deployID == 0 && err != nil {
		// Refused before anything was recorded or applied.
		out.refused = err
		log.Info().Err(err).Msg("apply refused")
		return out
	}
	if err != nil && result == nil {
		out.err = err
	}
	// Whatever happened, the records end: never leave them in progress.
	ctx = context.WithoutCancel(ctx)
	s.finishCheck(ctx, ro, checkID, out)
	s.finishDeployment(ctx, ro, deployID, out)
	log.Info().Bool("ok", out.ok()).Str("summary", out.summary()).Msg("applied")
	return out
}

// event is what r comes to, for the Observer.
func (ro rollout) event(r rolled, took time.Duration) Event {
	e := Event{Kind: ro.kind, Env: ro.env.Name, Outcome: r.outcome(), Took: took, Commit: ro.commit, PR: ro.number, CheckURL: r.logURL}
	if r.result != nil {
		e.Summary, e.Objects = r.result.Summary(), r.result.Counts()
	}
	if r.followed != nil {
		e.Summary = r.followed.Message
	}
	return e
}

// deploymentTool marks slipway's Deployments among other tools' records.
const deploymentTool = "slipway"

// deploymentPayload travels with each Deployment, for tools that read the
// deployment history.
type deploymentPayload struct {
	PullRequest int    `json:"pull_request,omitempty"`
	PlanDigest  string `json:"plan_digest"`
	Tool        string `json:"tool"`
	// RollbackOf marks a reviewed rollback: the default branch's head it
	// went back from.
	RollbackOf string `json:"rollback_of,omitempty"`
	// Reconciler names the Flux or Argo CD object that applied it, for an
	// environment slipway does not apply itself.
	Reconciler string `json:"reconciler,omitempty"`
}

// recordedDigest is the digest the Deployment records: the plan's.
func recordedDigest(digest string) string {
	if soakfault.On(soakfault.DigestSwap) {
		return "sha256:" + strings.Repeat("0", 64)
	}
	return digest
}

// what names the rollout for a replica that finds it running.
func (ro rollout) what() string {
	if ro.number != 0 {
		return fmt.Sprintf("#%d at %s", ro.number, short(ro.commit))
	}
	return "push at " + short(ro.commit)
}

// whatFor names what started the rollout: its pull request, or its cause.
func (ro rollout) whatFor() string {
	if ro.number != 0 {
		return fmt.Sprintf("#%d", ro.number)
	}
	return ro.cause
}

func deploymentDescription(ro rollout, p *plan.Plan) string {
	what := ro.whatFor()
	if ro.rollbackOf != "" {
		return fmt.Sprintf("slipway: rollback from %s to %s, reviewed on %s (%s)", short(ro.rollbackOf), short(ro.commit), what, report.Summary(p))
	}
	return fmt.Sprintf("slipway: %s at %s (%s)", what, short(ro.commit), report.Summary(p))
}

func (r rolled) summary() string {
	switch {
	case r.skipped != "":
		return "not started: " + r.skipped
	case r.refused != nil:
		return "refused: " + r.refused.Error()
	case r.err != nil:
		return "failed: " + r.err.Error()
	case r.followed != nil && r.followed.State == "success":
		return r.followed.Message
	case r.followed != nil:
		return "failed: " + r.followed.Message
	case r.result == nil:
		return "not applied"
	case r.result.Failed():
		return "failed: " + r.result.Err
	}
	return r.result.Summary()
}

func (s *Session) finishCheck(ctx context.Context, ro rollout, id int64, r rolled) {
	if id == 0 || soakfault.On(soakfault.CheckLeftOpen) {
		return
	}
	run := gh.CheckRun{Name: checkApplyPrefix + ro.env.Name, Status: "completed", Conclusion: "success", Title: r.summary()}
	if r.result != nil {
		run.Summary = report.ApplyResult(r.result)
	} else {
		run.Summary = "Nothing was applied: " + r.summary()
	}
	if !r.ok() {
		run.Conclusion = "failure"
	}
	if err := s.GitHub.UpdateCheckRun(ctx, s.Repo, id, run); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("complete apply check run")
	}
}

func (s *Session) finishDeployment(ctx context.Context, ro rollout, id int64, r rolled) {
	if id == 0 {
		return
	}
	st := gh.DeploymentStatus{State: "success", Description: r.summary(), LogURL: r.logURL, EnvironmentURL: ro.env.URL}
	switch {
	case r.err != nil || r.result == nil:
		st.State = "error"
	case r.result.Failed():
		st.State = "failure"
	}
	if err := s.GitHub.CreateDeploymentStatus(ctx, s.Repo, id, st); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("complete deployment")
	}
}

// outcomeText renders rollouts for a comment.
func outcomeText(title string, rs []rolled) string {
	rows := make([]report.OutcomeRow, len(rs))
	for i, r := range rs {
		rows[i] = report.OutcomeRow{Env: r.env, OK: r.ok(), Skipped: r.skipped != "", Summary: r.summary(), LogURL: r.logURL, Result: r.result}
	}
	return report.Outcome(title, rows)
}
