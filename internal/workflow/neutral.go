package workflow

import (
	"context"
	"slices"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// Branch protection can only require a fixed list of check names, so every
// commit slipway checks gets slipway/plan and slipway/policy for every
// environment: those the change does not touch conclude neutral, which
// GitHub counts as passing. Without them a pull request touching only
// staging could never merge under a rule that requires production's checks.

// notAffectedTitle is the title of a neutral check run of an environment
// the change does not touch.
const notAffectedTitle = "not affected by this pull request"

// notAffected reports whether r is the neutral run slipway writes for an
// environment a change does not touch: it stands in for a plan, it is not one.
func notAffected(r gh.CheckRunState) bool {
	return r.Status == "completed" && r.Conclusion == "neutral"
}

// lackingPlanRun lists, in config order, the environments of cfg that have
// no slipway/plan run among runs (those at one commit) and are not about to
// be planned (planning): the ones a neutral run may have to stand in for.
func lackingPlanRun(cfg *repoconfig.Config, runs []gh.CheckRunState, planning []string) []string {
	var out []string
	for _, name := range cfg.Names() {
		if _, ok := latestRun(runs, checkPlanPrefix+name); !ok && !slices.Contains(planning, name) {
			out = append(out, name)
		}
	}
	return out
}

// without is names less those in drop, in the order of names.
func without(names, drop []string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(drop, n) })
}

// neutralRuns are the check runs that say env is not affected at sha by
// what (a pull request, a merge group): its plan, its policy, and, for a
// before-merge environment, its apply, which nothing needs to run. The plan
// run records pusher, when known, as every plan run does.
func neutralRuns(env *repoconfig.Environment, sha, what, pusher string) []gh.CheckRun {
	title := notAffectedTitle
	if what != "pull request" {
		title = "not affected by this " + what
	}
	run := func(prefix, summary string) gh.CheckRun {
		return gh.CheckRun{Name: prefix + env.Name, HeadSHA: sha, Status: "completed", Conclusion: "neutral", Title: title, Summary: summary}
	}
	why := report.NotAffected(what, env.Name, env.Path)
	out := []gh.CheckRun{
		run(checkPlanPrefix, withPusher(why+report.NeutralPlan(env.Name), pusher)),
		run(checkPolicyPrefix, why+"Its policy has nothing to weigh here."),
	}
	if env.Mode == repoconfig.ModeBeforeMerge {
		out = append(out, run(checkApplyPrefix, why+report.NeutralApply(env.Name)))
	}
	return out
}

// reportUnaffected writes the neutral runs of each of envs at sha, over
// any run of the same name there (runs: those at sha). A failure is
// logged: the run stays absent, which holds a merge back rather than
// letting one through.
func (s *Session) reportUnaffected(ctx context.Context, cfg *repoconfig.Config, sha, what, pusher string, envs []string, runs []gh.CheckRunState) {
	for _, name := range envs {
		env, ok := cfg.Environment(name)
		if !ok {
			continue
		}
		for _, run := range neutralRuns(env, sha, what, pusher) {
			if err := s.editOrCreateRun(ctx, runs, run); err != nil {
				zerolog.Ctx(ctx).Error().Err(err).Str("check", run.Name).Msg("report an unaffected environment")
			}
		}
	}
}
