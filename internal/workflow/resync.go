package workflow

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/source"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/report"
)

// Interrupted says whether work GitHub shows in progress since started was
// left so by a process that stopped (crashed, killed, redeployed) rather
// than being done by one still running.
type Interrupted func(started time.Time) bool

// What an interrupted record is completed with.
const (
	interruptedText  = "interrupted: slipway stopped before this finished"
	interruptedTitle = "Interrupted"
)

// recentDeployments is how far back Resync looks for rollouts left in progress.
const recentDeployments = 30

// Resync is the level-triggered pass over a repository that makes up for
// lost webhooks and crashes: it releases the locks of pull requests that
// are no longer open, completes the check runs and Deployments a stopped
// process left in progress (as failed, "interrupted"), and returns the
// open pull requests whose head has no plan, for the caller to plan. A
// repository without .slipway.yaml on its default branch is skipped after
// its locks.
func (s *Session) Resync(ctx context.Context, interrupted Interrupted) ([]int, error) {
	log := zerolog.Ctx(ctx)
	if err := s.releaseStaleLocks(ctx); err != nil {
		log.Error().Err(err).Msg("resync: locks")
	}
	_, sha, err := s.GitHub.DefaultBranch(ctx, s.Repo)
	if err != nil {
		return nil, err
	}
	if _, err := s.Source.Config(ctx, s.Repo.Owner, s.Repo.Name, sha); errors.Is(err, source.ErrNoConfig) {
		return nil, nil
	}
	if err := s.finishInterruptedDeployments(ctx, interrupted); err != nil {
		log.Error().Err(err).Msg("resync: deployments")
	}
	prs, err := s.GitHub.OpenPullRequests(ctx, s.Repo)
	if err != nil {
		return nil, err
	}
	var unplanned []int
	for _, pr := range prs {
		runs, err := s.ownRuns(ctx, pr.HeadSHA)
		if err != nil {
			return unplanned, err
		}
		healed := s.finishInterruptedRuns(ctx, pr.HeadSHA, runs, interrupted)
		if healed || (!pr.Draft && !s.plannedHead(ctx, pr, runs)) {
			unplanned = append(unplanned, pr.Number)
		}
	}
	// After the open heads, whose interrupted plans are planned again.
	s.finishLapsedPlans(ctx, interrupted)
	return unplanned, nil
}

// finishLapsedPlans completes the check runs of plans whose replica died
// mid-plan on a head that no open pull request has any more (pushed over,
// or closed, before a resync came by), which the pass over open pull
// requests never looks at; then it forgets those runs.
func (s *Session) finishLapsedPlans(ctx context.Context, interrupted Interrupted) {
	if s.Runs == nil {
		return
	}
	log := zerolog.Ctx(ctx)
	keys, err := s.Runs.Lapsed(ctx, s.Repo.String())
	if err != nil {
		log.Error().Err(err).Msg("resync: lapsed plans")
		return
	}
	for _, k := range keys {
		head, ok := planHead(k)
		if !ok {
			continue // an apply's run (its Deployment tells: finishInterruptedDeployments), or no mark planning wrote
		}
		runs, err := s.ownRuns(ctx, head)
		if err != nil {
			log.Error().Err(err).Str("sha", head).Msg("resync: check runs of a lapsed plan")
			continue
		}
		s.finishInterruptedRuns(ctx, head, runs, interrupted)
		if err := s.Runs.Clear(ctx, k); err != nil {
			log.Warn().Err(err).Str("run", k.Env).Msg("resync: forget a lapsed plan")
		}
	}
}

// plannedHead reports whether pr's head was planned: a slipway/plan check
// run is there, or the sticky comment answers for that head (a pull
// request that affects no environment has only neutral check runs, which
// PlanPR writes before it plans, so they alone prove nothing).
func (s *Session) plannedHead(ctx context.Context, pr gh.PR, runs []gh.CheckRunState) bool {
	if hasPlanRun(runs) {
		return true
	}
	comments, err := s.GitHub.Comments(ctx, s.Repo, pr.Number)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Int("pr", pr.Number).Msg("resync: read comments")
		return true // try again next time rather than plan blindly
	}
	for _, c := range comments {
		if c.Author == s.Bot && strings.Contains(c.Body, "slipway plan for "+short(pr.HeadSHA)) {
			return true
		}
	}
	return false
}

// hasPlanRun reports whether runs hold a plan: the config's check or an
// environment's plan run that is not a neutral "not affected" one.
func hasPlanRun(runs []gh.CheckRunState) bool {
	for _, r := range runs {
		if r.Name == checkConfig || (strings.HasPrefix(r.Name, checkPlanPrefix) && !notAffected(r)) {
			return true
		}
	}
	return false
}

// finishInterruptedRuns completes slipway's in-progress check runs on head
// that a stopped process left; it reports whether it completed a plan's.
func (s *Session) finishInterruptedRuns(ctx context.Context, head string, runs []gh.CheckRunState, interrupted Interrupted) bool {
	plan := false
	for _, r := range runs {
		if !strings.HasPrefix(r.Name, "slipway/") || r.Status == "completed" {
			continue
		}
		// The run that marks the work as alive: an apply's environment,
		// or the plan's own mark (see planning).
		var key lock.Key
		if env, ok := strings.CutPrefix(r.Name, checkApplyPrefix); ok {
			key = lockKey(s.Repo, env)
		} else if env, ok := strings.CutPrefix(r.Name, checkPlanPrefix); ok {
			key = planKey(s.Repo, head, env)
		}
		if !s.abandoned(ctx, key, r.StartedAt, interrupted) {
			continue
		}
		err := s.GitHub.UpdateCheckRun(ctx, s.Repo, r.ID, gh.CheckRun{
			Name: r.Name, Status: "completed", Conclusion: "failure", Title: interruptedTitle,
			Summary: "slipway stopped before this finished (a crash or a restart), so its result is unknown. " + retryHint(r.Name),
		})
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Str("check", r.Name).Msg("resync: complete interrupted check run")
			continue
		}
		zerolog.Ctx(ctx).Warn().Str("check", r.Name).Time("started", r.StartedAt).Msg("completed an interrupted check run")
		plan = plan || r.Name == checkConfig || strings.HasPrefix(r.Name, checkPlanPrefix)
	}
	return plan
}

func retryHint(check string) string {
	if env, ok := strings.CutPrefix(check, checkApplyPrefix); ok {
		return report.RetryApply(env)
	}
	return "slipway plans this head again by itself."
}

// abandoned reports whether work GitHub shows in progress since started
// is no longer being done: a stopped process left it, or no replica holds
// the run that marks it (key; zero for work no run marks). Records of an
// apply, and a plan's check run, are made and completed while their run is
// held, so one left in progress without its run was cut off.
func (s *Session) abandoned(ctx context.Context, key lock.Key, started time.Time, interrupted Interrupted) bool {
	if interrupted(started) {
		return true
	}
	if key.Env == "" || s.Runs == nil {
		return false
	}
	run, err := s.Runs.Running(ctx, key)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("run", key.Env).Msg("resync: read the run lease")
		return false
	}
	return run == nil
}

// finishInterruptedDeployments marks rollouts a stopped process left in
// progress as errors, with their apply check runs.
func (s *Session) finishInterruptedDeployments(ctx context.Context, interrupted Interrupted) error {
	recs, err := s.GitHub.RecentDeployments(ctx, s.Repo, recentDeployments)
	if err != nil {
		return err
	}
	for _, d := range recs {
		// Only slipway's own records; one without a status yet never got
		// past its start.
		unfinished := d.State == "" || d.State == "in_progress" || d.State == "queued" || d.State == "pending"
		if d.Tool != deploymentTool || !unfinished || !s.abandoned(ctx, lockKey(s.Repo, d.Environment), d.Created, interrupted) {
			continue
		}
		if err := s.GitHub.CreateDeploymentStatus(ctx, s.Repo, d.ID, gh.DeploymentStatus{
			State: "error", Description: interruptedText,
		}); err != nil {
			return err
		}
		zerolog.Ctx(ctx).Warn().Str("env", d.Environment).Str("ref", d.Ref).Msg("completed an interrupted deployment")
		if runs, err := s.ownRuns(ctx, d.Ref); err == nil {
			s.finishInterruptedRuns(ctx, d.Ref, runs, interrupted)
		}
	}
	return nil
}

// PlanUnplanned plans pull request number if its head still has no plan
// when the job runs: a webhook's plan queued ahead of it wins, and the
// resync that found the head unplanned does not plan it twice.
func (s *Session) PlanUnplanned(ctx context.Context, number int) error {
	pr, err := s.GitHub.PullRequest(ctx, s.Repo, number)
	if err != nil || pr.State != "open" {
		return err
	}
	runs, err := s.ownRuns(ctx, pr.HeadSHA)
	if err != nil {
		return err
	}
	if s.plannedHead(ctx, *pr, runs) && !hasInterruptedPlan(runs) {
		return nil
	}
	zerolog.Ctx(ctx).Info().Int("pr", number).Str("sha", pr.HeadSHA).Msg("resync: planning a head no webhook planned")
	return s.PlanPR(ctx, PlanRequest{Number: number, Auto: true})
}

// hasInterruptedPlan reports whether the newest plan run of some
// environment was completed as interrupted.
func hasInterruptedPlan(runs []gh.CheckRunState) bool {
	seen := map[string]bool{}
	for _, r := range runs { // newest first
		if seen[r.Name] || !(r.Name == checkConfig || strings.HasPrefix(r.Name, checkPlanPrefix)) {
			continue
		}
		seen[r.Name] = true
		if r.Status == "completed" && r.Conclusion == "failure" && r.Title == interruptedTitle {
			return true
		}
	}
	return false
}
