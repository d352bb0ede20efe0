package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/ghport"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/source"
)

// DeployKey is the run queue key of a repository's merge-to-deploy work:
// merges reconcile one after another, in the order they arrive.
func DeployKey(repo string) string { return strings.ToLower(repo) + "@deploy" }

// DeployMerged reconciles, at the merge commit, every on-merge environment
// a merged pull request affects, in depends_on order, comments the results
// on the pull request, and then releases its locks.
func (s *Session) DeployMerged(ctx context.Context, number int) error {
	pr, err := s.GitHub.PullRequest(ctx, s.Repo, number)
	if err != nil {
		return err
	}
	if !pr.Merged || pr.MergeCommitSHA == "" {
		return s.Closed(ctx, number)
	}
	log := zerolog.Ctx(ctx).With().Str("sha", pr.MergeCommitSHA).Logger()
	cfg, rules, err := s.config(ctx)
	switch {
	case rules.Branch != "" && pr.BaseRef != rules.Branch:
		// Merged into a branch its author may have pushed with looser
		// rules: that is not the default branch moving.
		log.Info().Str("base", pr.BaseRef).Msg("merged into another branch; nothing deployed")
		return s.Closed(ctx, number)
	case isNoConfig(err):
		return s.Closed(ctx, number)
	case isInvalidConfig(err):
		if _, cerr := s.GitHub.CreateComment(ctx, s.Repo, number, "⚠️ Merged, but nothing was deployed: `.slipway.yaml` on `"+rules.Branch+"` is invalid:\n\n```\n"+strings.TrimSpace(err.Error())+"\n```"); cerr != nil {
			return cerr
		}
		return s.Closed(ctx, number)
	case err != nil:
		return err
	}
	tree, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, pr.MergeCommitSHA)
	if err != nil {
		return err
	}
	defer clean()
	changed, err := s.Source.ChangedFiles(ctx, s.Repo.Owner, s.Repo.Name, number)
	if err != nil {
		return err
	}
	affected, err := s.affectedBetween(ctx, cfg.Config, pr.BaseSHA, tree, changed)
	if err != nil {
		return err
	}
	affected = cfg.Order(affected)

	var deploy []string
	blocked := map[string]string{}
	var notes []string
	for _, name := range affected {
		env, _ := cfg.Environment(name)
		if env.Mode == repoconfig.ModeOnMerge {
			deploy = append(deploy, name)
			continue
		}
		// A before-merge environment this pull request changed: satisfied
		// only if its last /apply here succeeded.
		if !s.appliedAt(ctx, pr.HeadSHA, name) {
			blocked[name] = fmt.Sprintf("`%s` was not applied from this pull request", name)
			notes = append(notes, fmt.Sprintf("⚠️ `%s` (before-merge) was changed by this pull request but not applied, so it now differs from the default branch. Apply it from a new pull request, or let drift detection report it.", name))
		}
	}
	log.Info().Strs("envs", deploy).Msg("merge-to-deploy")
	results := s.deployChain(ctx, cfg.Config, tree, pr.MergeCommitSHA, number, deploy, blocked)
	if len(results) > 0 || len(notes) > 0 {
		body := ""
		if len(results) > 0 {
			body = outcomeText(fmt.Sprintf("Merge-to-deploy of %s", short(pr.MergeCommitSHA)), results)
		}
		if len(notes) > 0 {
			body += "\n" + strings.Join(notes, "\n\n") + "\n"
		}
		if _, err := s.GitHub.CreateComment(ctx, s.Repo, number, strings.TrimSpace(body)); err != nil {
			return err
		}
	}
	return s.Closed(ctx, number)
}

// DeployPush reconciles the on-merge environments a push to the default
// branch affects when no pull request explains it (a direct push). changed
// lists the files the push changed; complete is false when the event could
// not list them all, and then every on-merge environment is reconciled.
func (s *Session) DeployPush(ctx context.Context, before, after string, changed []string, complete bool) error {
	if pr, err := s.GitHub.MergedPullRequest(ctx, s.Repo, after); err != nil {
		return err
	} else if pr != nil {
		return nil // the pull request's merge deploys it
	}
	cfg, _, err := s.config(ctx)
	switch {
	case isNoConfig(err):
		return nil
	case err != nil:
		return err
	}
	tree, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, after)
	if err != nil {
		return err
	}
	defer clean()
	affected := cfg.Names()
	if complete && !isZeroSHA(before) {
		if affected, err = s.affectedBetween(ctx, cfg.Config, before, tree, changed); err != nil {
			return err
		}
	}
	var deploy []string
	for _, name := range affected {
		if env, _ := cfg.Environment(name); env.Mode == repoconfig.ModeOnMerge {
			deploy = append(deploy, name)
		}
	}
	zerolog.Ctx(ctx).Info().Str("sha", after).Strs("envs", deploy).Msg("direct push: reconcile")
	s.deployChain(ctx, cfg.Config, tree, after, 0, deploy, nil)
	return nil
}

// Redeploy is /apply on a merged pull request: it re-runs merge-to-deploy
// of the named environments (every on-merge environment the merge affected
// when none is named) at the merge commit, with new Deployment records.
func (s *Session) Redeploy(ctx context.Context, req CommentRequest, pr *ghport.PR, named []string) error {
	cfg, rules, err := s.config(ctx)
	if err != nil {
		return s.replyConfigError(ctx, req, err)
	}
	if why := otherBase(pr, rules); why != "" {
		return s.reply(ctx, req, refusal{why}.text(req.User))
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
			no.add("there is no environment `%s` in `.slipway.yaml`", name)
			continue
		}
		if env.Mode != repoconfig.ModeOnMerge && len(named) == 0 {
			continue
		}
		if ok, reason, err := policy.MayApply(ctx, env, req.User, s.directory()); err != nil {
			return err
		} else if !ok {
			no.add("%s", reason)
		}
		deploy = append(deploy, name)
	}
	if len(deploy) == 0 && len(no) == 0 {
		no.add("this merge affected no on-merge environment; name one: `/apply ENV`")
	}
	if len(no) > 0 {
		return s.reply(ctx, req, no.text(req.User))
	}
	results := s.deployChain(ctx, cfg.Config, tree, pr.MergeCommitSHA, pr.Number, cfg.Order(deploy), nil)
	return s.reply(ctx, req, outcomeText(fmt.Sprintf("Merge-to-deploy of %s, again, by @%s", short(pr.MergeCommitSHA), req.User), results))
}

// deployChain applies envs in depends_on order at commit; an environment
// whose dependency failed, did not start or is blocked does not start, and
// a failure stops everything after it.
func (s *Session) deployChain(ctx context.Context, cfg *repoconfig.Config, tree, commit string, number int, envs []string, blocked map[string]string) []rolled {
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
			results = append(results, rolled{env: name, skipped: fmt.Sprintf("depends on `%s`: %s", d, failed[d])})
			failed[name] = "not started"
			continue
		}
		r := s.roll(ctx, cfg, tree, rollout{env: env, commit: commit, number: number, cause: "direct push"})
		results = append(results, r)
		if !r.ok() {
			failed[name] = "failed"
			stop = fmt.Sprintf("`%s` failed", name)
		}
	}
	return results
}

// affectedBetween lists the environments that changed files touch, as read
// by the render at base and in the checkout at tree, in config order.
func (s *Session) affectedBetween(ctx context.Context, cfg *repoconfig.Config, base, tree string, changed []string) ([]string, error) {
	baseFiles, err := s.baseFiles(ctx, cfg, base)
	if err != nil {
		return nil, err
	}
	headFiles, _ := source.RenderedFiles(ctx, tree, cfg)
	return source.Affected(cfg, changed, baseFiles, headFiles), nil
}

// appliedAt reports whether env's newest apply check at sha succeeded.
func (s *Session) appliedAt(ctx context.Context, sha, env string) bool {
	runs, err := s.GitHub.CheckRuns(ctx, s.Repo, sha)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("list apply checks")
		return false
	}
	r, ok := latestRun(runs, checkApplyPrefix+env)
	return ok && r.Status == "completed" && r.Conclusion == "success"
}

func isZeroSHA(sha string) bool { return strings.Trim(sha, "0") == "" }
