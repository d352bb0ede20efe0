package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// checkRollbackPrefix names the check run that carries a rollback's plan
// for review; an environment's name follows.
const checkRollbackPrefix = "slipway/rollback: "

// Rollback is /rollback ENV [REF] on a pull request: going back is
// reviewed like going forward. The first time, it plans env at the target
// commit (REF, or the environment's last good deploy before its current
// one) against the live cluster and publishes that plan, digest and all, as
// a `slipway/rollback: ENV` check run on the pull request's head. Asked
// again, it applies only the plan reviewed there, once the environment's
// policy passes for it: approvals of this pull request given after the plan
// was published, by people other than its author and whoever asked for the
// rollback, and the policy's rules over the objects at the target. The
// Deployment is marked as a rollback and pins the environment there: the
// deploy loop leaves it alone until the default branch moves on.
func (s *Session) Rollback(ctx context.Context, req CommentRequest, name, ref string) error {
	no := func(why string) error { return s.reply(ctx, req, report.RollbackRefused(req.User, why)) }
	pr, err := s.GitHub.PullRequest(ctx, s.Repo, req.Number)
	if err != nil {
		return err
	}
	cfg, rules, err := s.config(ctx)
	if err != nil {
		return s.replyConfigError(ctx, req, err)
	}
	if why := otherBase(pr, rules); why != "" {
		return no(why)
	}
	env, ok := cfg.Environment(name)
	switch {
	case !ok:
		return no(report.NoSuchEnvironment(name))
	case env.Reconciled():
		return no(report.RollbackReconciled(name, env.Reconciler.String()))
	case env.Mode != repoconfig.ModeOnMerge:
		return no(report.RollbackBeforeMerge(name, string(env.Mode)))
	}
	if ok, reason, err := policy.MayApply(ctx, env, req.User, s.directory()); err != nil {
		return err
	} else if !ok {
		return no(reason)
	}
	recs, err := s.GitHub.EnvironmentDeployments(ctx, s.Repo, name, 100)
	if err != nil {
		return err
	}
	current, target, why := rollbackTarget(recs, s.Bot, ref)
	if why != "" {
		return no(why)
	}

	tree, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, target)
	if err != nil {
		return err
	}
	defer clean()
	p, _ := PlanEnvironment(ctx, tree, cfg.Config, name, target, s.Targets(s.Repo.String()), s.planOptions())
	if p.Err != "" || p.Counts().Error > 0 {
		return no(report.RollbackPlanErrors(name, short(target), report.MarkdownSingle([]*plan.Plan{p}, report.MarkdownOptions{MaxLen: 30000})))
	}
	runs, err := s.ownRuns(ctx, pr.HeadSHA)
	if err != nil {
		return err
	}
	reviewed, ok := reviewedRollback(runs, name, p.Digest)
	if !ok {
		return s.publishRollback(ctx, req, pr, env, p, current, target)
	}

	// Asked again: the plan is the one published; weigh the policy for it.
	reviews, err := s.GitHub.Reviews(ctx, s.Repo, pr.Number)
	if err != nil {
		return err
	}
	objects, err := s.renderObjects(ctx, tree, cfg.Config, env)
	if err != nil {
		return no(report.RollbackNoRender(name, short(target), err))
	}
	envForRollback := *env
	envForRollback.Policy.Require = nil // the pull request's own state is not what goes back
	in := policy.Input{
		Env:     &envForRollback,
		Rules:   cfg.rules.For(name),
		Author:  pr.Author,
		HeadSHA: pr.HeadSHA,
		Pushers: []string{req.User},
		Plan:    policy.PlanState{Current: true, Reason: "the rollback plan is current", Digest: p.Digest, PublishedAt: reviewed.CompletedAt},
		Objects: objects,
	}
	if bounds, err := s.Targets(s.Repo.String()).Resolve(env); err == nil {
		in.MinApprovals = bounds.MinApprovals
		in.Rules = append(slices.Clone(bounds.Rules), in.Rules...)
	}
	for _, r := range reviews {
		in.Reviews = append(in.Reviews, policy.Review{User: r.User, State: r.State, CommitID: r.CommitID, SubmittedAt: r.SubmittedAt})
	}
	if res := policy.Evaluate(ctx, in, s.directory()); !res.Passed() {
		return no(report.RollbackPolicy(name, unmet(res)))
	}

	r := s.roll(ctx, cfg.Config, tree, rollout{kind: KindRollback, env: env, commit: target, number: pr.Number, reviewed: p.Digest, cause: "rollback", rollbackOf: rules.SHA})
	if errors.Is(r.refused, ErrPlanChanged) {
		r.refused = errors.New(report.RollbackPlanChanged(name, short(target)))
	}
	zerolog.Ctx(ctx).Info().Str("env", name).Str("to", target).Str("from", current).Bool("ok", r.ok()).Msg("rollback")
	return s.reply(ctx, req, outcomeText(report.RollbackTitle(name, short(target), req.User), []rolled{r}))
}

// rollbackTarget picks, from env's Deployments (newest first), the commit
// it runs now and the one to go back to: ref when it names a commit slipway
// deployed there successfully before, else the newest such commit other
// than the current one. why says what is missing.
func rollbackTarget(recs []gh.DeploymentRecord, bot, ref string) (current, target, why string) {
	var good []string // refs deployed successfully, newest first, once each
	for _, r := range recs {
		// GitHub marks older successful deploys "inactive" once a newer
		// one succeeds.
		if r.Tool != deploymentTool || !strings.EqualFold(r.Creator, bot) || (r.State != "success" && r.State != "inactive") {
			continue
		}
		if !slices.Contains(good, r.Ref) {
			good = append(good, r.Ref)
		}
	}
	if len(good) == 0 {
		return "", "", "slipway has never deployed this environment successfully, so there is nothing to go back to"
	}
	current = good[0]
	for _, g := range good[1:] {
		if ref == "" || strings.HasPrefix(g, ref) {
			return current, g, ""
		}
	}
	if ref != "" && strings.HasPrefix(current, ref) {
		return current, "", fmt.Sprintf("the environment runs %s already", short(current))
	}
	var listed []string
	for _, g := range good[1:min(len(good), 6)] {
		listed = append(listed, short(g))
	}
	if len(listed) == 0 {
		return current, "", "the environment has one successful deploy (" + short(current) + ") and nothing earlier to go back to"
	}
	return current, "", report.NeverDeployed(ref, listed)
}

// reviewedRollback is the newest published rollback plan of env with digest.
func reviewedRollback(runs []gh.CheckRunState, env, digest string) (gh.CheckRunState, bool) {
	for _, r := range runs { // newest first
		if r.Name == checkRollbackPrefix+env && r.Status == "completed" && r.ExternalID == digest && !r.CompletedAt.IsZero() {
			return r, true
		}
	}
	return gh.CheckRunState{}, false
}

// publishRollback shows a rollback's plan for review and says how to go on.
func (s *Session) publishRollback(ctx context.Context, req CommentRequest, pr *gh.PR, env *repoconfig.Environment, p *plan.Plan, current, target string) error {
	title := fmt.Sprintf("Rollback of %s to %s: %s", env.Name, short(target), report.Summary(p))
	_, url, err := s.GitHub.CreateCheckRun(ctx, s.Repo, gh.CheckRun{
		Name: checkRollbackPrefix + env.Name, HeadSHA: pr.HeadSHA, Status: "completed", Conclusion: "neutral",
		ExternalID: p.Digest, Title: title,
		Summary: report.RollbackPlanSummary(env.Name, short(current), short(target),
			report.MarkdownSingle([]*plan.Plan{p}, report.MarkdownOptions{MaxLen: gh.CheckRunLimit - 1000, FullReport: report.FullReportHint(short(target))})),
	})
	if err != nil {
		return err
	}
	need := env.Policy.Approvals
	how := "no approval is required"
	if need > 0 {
		how = fmt.Sprintf("%d approving %s of this pull request submitted from now on, by someone other than its author and @%s", need, plural(need, "review", "reviews"), req.User)
	}
	return s.reply(ctx, req, report.RollbackPlanned(env.Name, short(current), short(target), report.Summary(p), url, how))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
