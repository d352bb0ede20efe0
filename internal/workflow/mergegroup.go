package workflow

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// MergeGroup is a merge queue's candidate: the base branch with queued
// pull requests merged in, at a commit GitHub asks checks of before it
// moves the branch there.
type MergeGroup struct {
	HeadSHA string // the commit to check
	BaseSHA string // the commit it was built on
	BaseRef string // the branch it merges into, refs/heads/NAME or NAME
}

// GroupKey is the run queue key of a merge group's checks.
func GroupKey(repo, headSHA string) string { return strings.ToLower(repo) + "@group:" + headSHA }

// CheckMergeGroup answers a merge queue's checks_requested: it plans the
// group's head commit for every environment the group changes and weighs
// each one's rules over the rendered objects and the plan, on
// slipway/plan and slipway/policy check runs there (and, for a
// before-merge environment, slipway/apply: whether it was applied); the
// other environments get neutral ones. Reviews are not weighed: GitHub admits to the queue
// only pull requests its branch protection let through. A merge group
// takes no locks and has no comment to write.
func (s *Session) CheckMergeGroup(ctx context.Context, g MergeGroup) error {
	log := zerolog.Ctx(ctx).With().Str("sha", g.HeadSHA).Logger()
	cfg, rules, err := s.config(ctx)
	switch {
	case isNoConfig(err):
		log.Info().Msg("no .slipway.yaml on the default branch; nothing to check in the merge group")
		return nil
	case isInvalidConfig(err):
		return s.reportGroupConfigError(ctx, g, rules, err)
	case err != nil:
		return err
	}
	if branch := strings.TrimPrefix(g.BaseRef, "refs/heads/"); branch != rules.Branch {
		log.Info().Str("base", branch).Msg("merge group not into the default branch; not checked")
		return nil
	}
	tree, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, g.HeadSHA)
	if err != nil {
		return err
	}
	defer clean()
	affected, err := s.groupAffected(ctx, cfg.Config, g, tree)
	if err != nil {
		return err
	}
	runs, err := s.ownRuns(ctx, g.HeadSHA)
	if err != nil {
		return err
	}
	s.reportUnaffected(ctx, cfg.Config, g.HeadSHA, "merge group", "", without(cfg.Names(), affected), runs)

	plans := make([]*plan.Plan, len(affected))
	var wg sync.WaitGroup
	var caught recovery.Caught
	for i, name := range affected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer caught.Recover()
			plans[i] = s.planEnvironment(ctx, cfg.Config, &gh.PR{HeadSHA: g.HeadSHA}, tree, name, "", nil)
		}()
	}
	wg.Wait()
	caught.Repanic()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	for i, name := range affected {
		env, _ := cfg.Environment(name)
		objects, renderErr := s.renderObjects(ctx, tree, cfg.Config, env)
		s.publishPolicy(ctx, g.HeadSHA, groupPolicy(ctx, cfg.rules.For(name), name, g.HeadSHA, plans[i], objects, renderErr), runs)
		if env.Mode == repoconfig.ModeBeforeMerge {
			if err := s.editOrCreateRun(ctx, runs, groupApplied(env.Name, g.HeadSHA, plans[i])); err != nil {
				log.Error().Err(err).Str("env", name).Msg("report the merge group's apply check")
			}
		}
	}
	log.Info().Strs("envs", affected).Msg("merge group checked")
	return nil
}

// groupAffected lists the environments the group's changes touch, every
// one of them when GitHub cannot list all the changed files.
func (s *Session) groupAffected(ctx context.Context, cfg *repoconfig.Config, g MergeGroup, tree string) ([]string, error) {
	cmp, err := s.GitHub.Compare(ctx, s.Repo, g.BaseSHA, g.HeadSHA)
	if err != nil {
		return nil, err
	}
	if !cmp.Complete {
		return cfg.Names(), nil
	}
	return s.affectedBetween(ctx, cfg, g.BaseSHA, tree, cmp.Files)
}

// groupPolicy weighs env's policy at a merge group's head: its plan there
// must have succeeded and its rules must hold over the rendered objects
// (renderErr: they could not be rendered, which never passes).
func groupPolicy(ctx context.Context, rules []policy.CompiledRule, env, sha string, p *plan.Plan, objects []*unstructured.Unstructured, renderErr error) policy.Result {
	res := policy.Result{Env: env}
	item := policy.Item{Kind: policy.ItemRequirement, Name: "plan", Met: true, Reason: "planned at " + short(sha)}
	switch {
	case p == nil || p.Err != "":
		item.Met, item.Reason = false, "the plan of "+env+" at "+short(sha)+" failed"
	case p.Counts().Error > 0:
		item.Met, item.Reason = false, fmt.Sprintf("the plan of %s at %s has %d objects the cluster rejects", env, short(sha), p.Counts().Error)
	}
	res.Items = append(res.Items, item)
	res.Items = append(res.Items, policy.CheckRules(ctx, rules, objects)...)
	if renderErr != nil {
		res.Items = append(res.Items, policy.Item{Kind: policy.ItemRule, Name: "manifests render", Reason: renderErr.Error()})
	}
	return res
}

// groupApplied is a before-merge environment's slipway/apply check at a
// merge group's head. Its pull requests were applied before they were
// queued, so the cluster should already be what the group renders: the
// check passes only when the plan there changes nothing, and otherwise
// keeps the group from landing with an environment that differs from it.
func groupApplied(env, sha string, p *plan.Plan) gh.CheckRun {
	run := gh.CheckRun{Name: checkApplyPrefix + env, HeadSHA: sha, Status: "completed", Conclusion: "success",
		Title:   "already applied",
		Summary: report.GroupAlreadyApplied(env, short(sha))}
	switch {
	case p == nil || p.Err != "" || p.Counts().Error > 0:
		run.Conclusion, run.Title = "failure", "not planned"
		run.Summary = report.GroupPlanFailed(env, short(sha), checkPlanPrefix+env)
	case p.HasChanges():
		run.Conclusion, run.Title = "failure", "differs from the cluster: "+report.Summary(p)
		run.Summary = report.GroupDiffers(env, short(sha), report.Summary(p))
	}
	return run
}

// reportGroupConfigError fails the merge group's slipway/plan check: with
// the default branch's .slipway.yaml broken, nothing can be checked.
func (s *Session) reportGroupConfigError(ctx context.Context, g MergeGroup, rules rulesHead, err error) error {
	_, _, cerr := s.GitHub.CreateCheckRun(ctx, s.Repo, gh.CheckRun{
		Name:       checkConfig,
		HeadSHA:    g.HeadSHA,
		Status:     "completed",
		Conclusion: "failure",
		Title:      ".slipway.yaml on the default branch is invalid",
		Summary:    report.InvalidRulesForGroup(rules.Branch, short(rules.SHA), err.Error()),
	})
	return cerr
}
