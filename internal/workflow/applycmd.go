package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/publish"
	"github.com/slipwayhq/slipway/internal/gh/source"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/soakfault"
	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// refusal is a reason /apply will not run, said to the commenter.
type refusal []string

func (r *refusal) add(reason string) { *r = append(*r, reason) }

func (r refusal) text(user string) string { return report.ApplyRefused(user, r) }

// ApplyPR runs /apply on an open pull request: every named environment (all
// before-merge environments planned at the head when none is named) must be
// applied by an applier, pass its policy and be locked by this pull request;
// then each is re-planned and applied only if the plan is still the one
// reviewed. A refusal names the condition that failed and applies nothing.
func (s *Session) ApplyPR(ctx context.Context, req CommentRequest, named []string) error {
	pr, err := s.GitHub.PullRequest(ctx, s.Repo, req.Number)
	if err != nil {
		return err
	}
	if pr.Merged {
		return s.Redeploy(ctx, req, pr, named)
	}
	if pr.State != "open" {
		return s.reply(ctx, req, fmt.Sprintf("#%d is closed without merging, so there is nothing to apply.", pr.Number))
	}
	if why := fromFork(pr, s.Repo); why != "" {
		return s.reply(ctx, req, refusal{why}.text(req.User))
	}
	cfg, rules, err := s.config(ctx)
	if err != nil {
		return s.replyConfigError(ctx, req, err)
	}
	if why := otherBase(pr, rules); why != "" {
		return s.reply(ctx, req, refusal{why}.text(req.User))
	}
	runs, err := s.ownRuns(ctx, pr.HeadSHA)
	if err != nil {
		return err
	}
	envs, why := applyTargets(cfg.Config, plannedEnvs(runs, cfg.Config), named)
	if len(why) > 0 {
		return s.reply(ctx, req, why.text(req.User))
	}
	var no refusal
	for _, name := range envs {
		env, _ := cfg.Environment(name)
		if ok, reason, err := policy.MayApply(ctx, env, req.User, s.directory()); err != nil {
			return err
		} else if !ok {
			no.add(reason)
		}
	}
	if len(no) > 0 {
		return s.reply(ctx, req, no.text(req.User))
	}

	tree, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, pr.HeadSHA)
	if err != nil {
		return err
	}
	defer clean()
	verdicts, err := s.checkPolicy(ctx, cfg, pr, tree)
	if err != nil {
		return err
	}
	reviewed, reviewedUnder := map[string]string{}, map[string]string{}
	for _, name := range envs {
		if res, ok := verdicts[name]; ok && !res.Passed() && !soakfault.On(soakfault.GateOpen) {
			no.add(report.PolicyNotPassing(name, unmet(res)))
		}
		if r, ok := latestRun(runs, checkPlanPrefix+name); !ok || r.Status != "completed" || r.Conclusion != "success" || r.ExternalID == "" {
			no.add(report.NoPlanToApply(name, short(pr.HeadSHA)))
		} else {
			reviewed[name], reviewedUnder[name] = r.ExternalID, reviewedRules(r.Text)
		}
	}
	if len(no) == 0 {
		no = s.lockForApply(ctx, pr.Number, envs)
	}
	if len(no) > 0 {
		return s.reply(ctx, req, no.text(req.User))
	}

	var results []rolled
	failed := false
	for _, name := range envs {
		env, _ := cfg.Environment(name)
		if failed {
			results = append(results, rolled{env: name, skipped: "an earlier environment failed"})
			continue
		}
		r := s.roll(ctx, cfg.Config, tree, rollout{kind: KindApply, env: env, commit: pr.HeadSHA, number: pr.Number, reviewed: reviewed[name]})
		if errors.Is(r.refused, ErrPlanChanged) {
			r.refused = planChanged(reviewedUnder[name], r.plan)
		}
		results = append(results, r)
		failed = !r.ok()
	}
	if refusedAll(results) {
		return s.reply(ctx, req, refusal{results[0].refused.Error() + "."}.text(req.User))
	}
	return publish.Outcome(ctx, s.GitHub, s.Repo, pr.Number, s.Bot,
		outcomeText(fmt.Sprintf("/apply by @%s at %s", req.User, short(pr.HeadSHA)), results))
}

// fromFork says why /apply refuses pr when its head is not a branch of repo
// itself: a fork's code is the fork owner's, and applying it before merge
// would run it with this repository's cluster rights on the word of one
// comment. Once merged, it is the repository's own and deploys as usual.
func fromFork(pr *gh.PR, repo gh.Repo) string {
	switch {
	case pr.HeadRepo == "":
		return report.FromDeletedFork(pr.Number, repo.String())
	case !strings.EqualFold(pr.HeadRepo, repo.String()):
		return report.FromFork(pr.Number, pr.HeadRepo, repo.String())
	}
	return ""
}

// applyTargets picks the environments /apply acts on at an open pull
// request: the named ones, which must deploy before merge, or else every
// before-merge environment planned at the head.
func applyTargets(cfg *repoconfig.Config, planned, named []string) ([]string, refusal) {
	var no refusal
	if len(named) == 0 {
		for _, name := range planned {
			if env, _ := cfg.Environment(name); env.Mode == repoconfig.ModeBeforeMerge {
				named = append(named, name)
			}
		}
		if len(named) == 0 {
			no.add(report.NoBeforeMergePlanned())
		}
		return named, no
	}
	for _, name := range named {
		env, ok := cfg.Environment(name)
		switch {
		case !ok:
			no.add(report.NoSuchEnvironment(name))
		case env.Reconciled():
			no.add(notApplied(env))
		case env.Mode != repoconfig.ModeBeforeMerge:
			no.add(report.DeploysOnMerge(name, string(env.Mode)))
		}
	}
	return cfg.Order(named), no
}

// lockForApply makes sure this pull request holds every environment's
// lock, taking free ones; one held by another pull request is a refusal.
func (s *Session) lockForApply(ctx context.Context, number int, envs []string) refusal {
	var no refusal
	for _, name := range envs {
		err := s.Locks.Acquire(ctx, lockKey(s.Repo, name), lock.Holder{Repo: s.Repo.String(), PR: number})
		var locked *lock.ErrLocked
		switch {
		case errors.As(err, &locked):
			no.add(report.LockedForApply(name, locked.Holder.PR))
		case err != nil:
			no.add(report.LockNotTaken(name, err))
		}
	}
	return no
}

func unmet(res policy.Result) []string {
	var out []string
	for _, it := range res.Items {
		if !it.Met {
			out = append(out, it.Name+": "+it.Reason)
		}
	}
	return out
}

func refusedAll(rs []rolled) bool {
	for _, r := range rs {
		if r.refused == nil && r.skipped == "" {
			return false
		}
	}
	return len(rs) > 0
}

// replyConfigError answers a command when the default branch's config cannot be used.
func (s *Session) replyConfigError(ctx context.Context, req CommentRequest, err error) error {
	var msg string
	switch {
	case isNoConfig(err):
		msg = report.NoConfig("apply")
	case isInvalidConfig(err):
		msg = report.InvalidConfigForApply(err.Error())
	default:
		return err
	}
	return s.reply(ctx, req, msg)
}

func isNoConfig(err error) bool { return errors.Is(err, source.ErrNoConfig) }

func isInvalidConfig(err error) bool {
	var invalid strictyaml.Errors
	return errors.As(err, &invalid)
}
