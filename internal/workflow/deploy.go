package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/affected"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// DeployKey is the run queue key of a repository's merge-to-deploy work:
// merges reconcile one after another, in the order they arrive.
func DeployKey(repo string) string { return strings.ToLower(repo) + "@deploy" }

// DeployMerged is the hint a merge gives: it converges the on-merge
// environments on the default branch (see Converge), then releases the
// pull request's locks. A redelivered old merge finds nothing to do.
func (s *Session) DeployMerged(ctx context.Context, number int) error {
	return s.Converge(ctx, number)
}

// DeployPush is the hint a push to the default branch gives: it converges
// the on-merge environments on the branch's head, whatever the push
// changed (the environments' Deployment records say what they are at).
func (s *Session) DeployPush(ctx context.Context) error {
	return s.Converge(ctx, 0)
}

// Redeploy is /apply on a merged pull request: it re-runs merge-to-deploy
// of the named environments (every on-merge environment the merge affected
// when none is named) at the merge commit, with new Deployment records.
func (s *Session) Redeploy(ctx context.Context, req CommentRequest, pr *gh.PR, named []string) error {
	cfg, rules, err := s.config(ctx)
	if err != nil {
		return s.replyConfigError(ctx, req, err)
	}
	if why := otherBase(pr, rules); why != "" {
		return s.reply(ctx, req, refusal{why}.text(req.User))
	}
	if pr.MergeCommitSHA != rules.SHA {
		// On-merge environments follow the default branch; deploying an
		// older merge again would move them back.
		return s.reply(ctx, req, refusal{report.MergedMovedOn(rules.Branch, short(rules.SHA), pr.Number, short(pr.MergeCommitSHA))}.text(req.User))
	}
	tree, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, pr.MergeCommitSHA)
	if err != nil {
		return err
	}
	defer clean()
	envs := named
	if len(envs) == 0 {
		changed, err := s.Source.ChangedFiles(ctx, s.Repo.Owner, s.Repo.Name, pr.Number)
		if err != nil {
			return err
		}
		if envs, err = s.affectedBetween(ctx, cfg.Config, pr.BaseSHA, tree, changed); err != nil {
			return err
		}
	}
	var no refusal
	var deploy []string
	for _, name := range envs {
		env, ok := cfg.Environment(name)
		if !ok {
			no.add(report.NoSuchEnvironment(name))
			continue
		}
		if env.Mode != repoconfig.ModeOnMerge && len(named) == 0 {
			continue
		}
		if env.Reconciled() {
			// Its reconciler applies what the default branch holds; a
			// merge already asked it to.
			if len(named) > 0 {
				no.add(notApplied(env))
			}
			continue
		}
		if ok, reason, err := policy.MayApply(ctx, env, req.User, s.directory()); err != nil {
			return err
		} else if !ok {
			no.add(reason)
		}
		deploy = append(deploy, name)
	}
	if len(deploy) == 0 && len(no) == 0 {
		no.add(report.NoOnMergeAffected())
	}
	if len(no) > 0 {
		return s.reply(ctx, req, no.text(req.User))
	}
	results := s.deployChain(ctx, cfg.Config, tree, pr.MergeCommitSHA, pr.Number, cfg.Order(deploy), nil, false)
	return s.reply(ctx, req, outcomeText(fmt.Sprintf("Merge-to-deploy of %s, again, by @%s", short(pr.MergeCommitSHA), req.User), results))
}

// deployChain applies envs in depends_on order at commit; an environment
// whose dependency failed, did not start or is blocked does not start, and
// a failure stops everything after it. guarded rollouts make sure, under
// the environment's run lease, that it is not already at commit or newer.
func (s *Session) deployChain(ctx context.Context, cfg *repoconfig.Config, tree, commit string, number int, envs []string, blocked map[string]string, guarded bool) []rolled {
	failed := map[string]string{}
	for k, v := range blocked {
		failed[k] = v
	}
	stop := ""
	var results []rolled
	for _, name := range cfg.Order(envs) {
		env, _ := cfg.Environment(name)
		if stop != "" {
			results = append(results, rolled{env: name, skipped: stop})
			failed[name] = "not started"
			continue
		}
		if dep := slices.IndexFunc(env.DependsOn, func(d string) bool { return failed[d] != "" }); dep >= 0 {
			d := env.DependsOn[dep]
			results = append(results, rolled{env: name, skipped: report.DependsOnFailed(d, failed[d])})
			failed[name] = "not started"
			continue
		}
		r := s.roll(ctx, cfg, tree, rollout{kind: KindDeploy, env: env, commit: commit, number: number, cause: "direct push", guarded: guarded})
		results = append(results, r)
		if !r.ok() {
			failed[name] = "failed"
			stop = report.EnvFailed(name)
		}
	}
	return results
}

// affectedBetween lists the environments that changed files touch, as read
// by the render at base and in the checkout at tree, in config order.
func (s *Session) affectedBetween(ctx context.Context, cfg *repoconfig.Config, base, tree string, changed []string) ([]string, error) {
	envs, _, err := s.affectedRenders(ctx, cfg, base, tree, changed)
	return envs, err
}

// affectedRenders is affectedBetween that also returns each environment's
// render at tree (unplaced; those that rendered), which a plan at tree
// takes instead of rendering again.
func (s *Session) affectedRenders(ctx context.Context, cfg *repoconfig.Config, base, tree string, changed []string) ([]string, map[string]*render.Result, error) {
	heads, _ := affected.Renders(ctx, tree, cfg, s.renderOptions(), s.Options.Limits)
	headFiles := affected.FilesOf(heads)
	// The base can only add environments. When the head's renders and
	// paths already take every one (a change to a base they all share),
	// rendering every environment at the base would change nothing.
	if envs := affected.Environments(cfg, changed, nil, headFiles); len(envs) == len(cfg.Environments) {
		return envs, heads, nil
	}
	baseFiles, err := s.baseFiles(ctx, cfg, base)
	if err != nil {
		return nil, nil, err
	}
	return affected.Environments(cfg, changed, baseFiles, headFiles), heads, nil
}

// appliedAt reports whether env's newest apply check at sha succeeded.
func (s *Session) appliedAt(ctx context.Context, sha, env string) bool {
	runs, err := s.ownRuns(ctx, sha)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("list apply checks")
		return false
	}
	r, ok := latestRun(runs, checkApplyPrefix+env)
	return ok && r.Status == "completed" && r.Conclusion == "success"
}
