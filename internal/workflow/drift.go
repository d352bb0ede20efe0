package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// checkDriftPrefix names the drift check runs; an environment's name follows.
const checkDriftPrefix = "slipway/drift: "

// Drift compares every environment (but those with drift: off) with the
// default branch's head: a slipway/drift check run on that commit says
// whether the cluster matches Git, with the diff when it does not. With
// drift: reconcile the difference is applied, with a Deployment record,
// unless a pull request holds the environment's lock (what it applied
// before merging is not drift to undo). A config that cannot be read is
// left to the pull requests that change it.
func (s *Session) Drift(ctx context.Context) error {
	cfg, rules, err := s.config(ctx)
	sha := rules.SHA
	switch {
	case isNoConfig(err), isInvalidConfig(err):
		return nil
	case err != nil:
		return err
	}
	var envs []string
	for _, name := range cfg.Names() {
		if env, _ := cfg.Environment(name); env.Drift != repoconfig.DriftOff {
			envs = append(envs, name)
		}
	}
	if len(envs) == 0 {
		return nil
	}
	tree, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, sha)
	if err != nil {
		return err
	}
	defer clean()
	runs, err := s.ownRuns(ctx, sha)
	if err != nil {
		return err
	}
	for _, name := range envs {
		env, _ := cfg.Environment(name)
		s.driftOf(ctx, cfg, tree, sha, env, runs)
	}
	return nil
}

// driftOf plans one environment at sha, reports it, and reconciles it when
// the environment asks for that and nothing holds it.
func (s *Session) driftOf(ctx context.Context, cfg *repoConfig, tree, sha string, env *repoconfig.Environment, runs []gh.CheckRunState) {
	log := zerolog.Ctx(ctx).With().Str("env", env.Name).Str("sha", sha).Logger()
	began := time.Now()
	p, _ := PlanEnvironment(ctx, tree, cfg.Config, env.Name, sha, s.Targets(s.Repo.String()), s.planOptions())
	run := gh.CheckRun{Name: checkDriftPrefix + env.Name, HeadSHA: sha, Status: "completed", Conclusion: "success", ExternalID: p.Digest}
	body := report.MarkdownSingle([]*plan.Plan{p}, report.MarkdownOptions{MaxLen: gh.CheckRunLimit - 2000, FullReport: report.FullReportHint("")})
	switch {
	case p.Err != "" || p.Counts().Error > 0:
		run.Conclusion, run.Title = "failure", "Drift unknown: the plan failed"
	case !p.HasChanges():
		run.Title = "In sync with " + short(sha)
	default:
		run.Conclusion, run.Title = "failure", "Drift: "+report.Summary(p)
	}
	if run.Conclusion == "failure" && p.Err == "" && p.HasChanges() && env.Drift == repoconfig.DriftReconcile {
		holder, err := s.Locks.Holder(ctx, lockKey(s.Repo, env.Name))
		switch {
		case err != nil:
			body = fmt.Sprintf("Not reconciled: the lock could not be read: %v\n\n", err) + body
		case holder != nil:
			body = report.DriftHeldByLock(holder.PR, env.Name) + body
		default:
			r := s.roll(ctx, cfg.Config, tree, rollout{kind: KindReconcile, env: env, commit: sha, reviewed: p.Digest, cause: "drift reconcile"})
			run.Title = "Drift reconciled: " + r.summary()
			if !r.ok() {
				run.Title = "Drift not reconciled: " + r.summary()
			} else {
				run.Conclusion = "success"
			}
			body = outcomeText("Reconciled to "+short(sha), []rolled{r}) + "\n" + body
		}
	}
	run.Summary = body
	checked := Event{Kind: KindDrift, Env: env.Name, Outcome: driftOutcome(p), Took: time.Since(began), Commit: sha, Summary: report.Summary(p)}
	if old, ok := latestRun(runs, run.Name); ok {
		checked.Repeat, checked.CheckURL = old.Title == run.Title, old.URL
	}
	if err := s.editOrCreateRun(ctx, runs, run); err != nil {
		log.Error().Err(err).Msg("publish drift check")
	}
	s.observe(checked)
	log.Info().Str("result", run.Title).Msg("drift")
}

// driftOutcome classifies a drift check's plan.
func driftOutcome(p *plan.Plan) string {
	switch planOutcome(p) {
	case OutcomeError:
		return OutcomeError
	case OutcomeChanges:
		return OutcomeDrifted
	}
	return OutcomeInSync
}
