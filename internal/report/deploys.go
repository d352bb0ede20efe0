package report

import (
	"fmt"
	"strings"
)

// What slipway says about deploys, rollbacks and what merged.

// DependsOnFailed: an environment did not start because dep did not
// succeed, for why.
func DependsOnFailed(dep, why string) string { return fmt.Sprintf("depends on `%s`: %s", dep, why) }

// EnvFailed: env failed, so what follows it did not start.
func EnvFailed(env string) string { return fmt.Sprintf("`%s` failed", env) }

// MergedInvalidConfig tells a merged pull request that nothing deployed
// because the default branch's .slipway.yaml has problems.
func MergedInvalidConfig(branch, problems string) string {
	return "⚠️ Merged, but nothing was deployed: `.slipway.yaml` on `" + branch + "` is invalid:\n\n```\n" + strings.TrimSpace(problems) + "\n```"
}

// NotAppliedFromPR: a before-merge env changed by a pull request was not
// applied from it.
func NotAppliedFromPR(env string) string {
	return fmt.Sprintf("`%s` was not applied from this pull request", env)
}

// NotAppliedNote tells a merged pull request that env now differs from the
// default branch.
func NotAppliedNote(env string) string {
	return fmt.Sprintf("⚠️ `%s` (before-merge) was changed by this pull request but not applied, so it now differs from the default branch. Apply it from a new pull request, or let drift detection report it.", env)
}

// AlreadyAt: env runs commit already.
func AlreadyAt(env, commit string) string { return fmt.Sprintf("`%s` is at %s", env, commit) }

// RolledBackAfterReview: env was rolled back from commit to target.
func RolledBackAfterReview(env, commit, target string) string {
	return fmt.Sprintf("`%s` was rolled back from %s to %s after review", env, commit, target)
}

// NewerThan: env runs at, which is newer than commit.
func NewerThan(env, at, commit string) string {
	return fmt.Sprintf("`%s` is at %s, which is newer than %s", env, at, commit)
}

// RollbackRefused answers a /rollback that applied nothing.
func RollbackRefused(user, why string) string {
	return "@" + user + " `/rollback` refused, nothing was applied: " + why
}

// RollbackBeforeMerge: env deploys before merge and cannot be rolled back.
func RollbackBeforeMerge(env, mode string) string {
	return fmt.Sprintf("`%s` is applied before merge (`mode: %s`): take it back by applying an earlier state from a pull request", env, mode)
}

// RollbackPlanErrors: the plan of env at target has errors, shown in plan.
func RollbackPlanErrors(env, target, plan string) string {
	return fmt.Sprintf("the plan of `%s` at %s has errors:\n\n%s", env, target, plan)
}

// RollbackNoRender: env at target does not render, for err.
func RollbackNoRender(env, target string, err error) string {
	return fmt.Sprintf("`%s` at %s does not render: %v", env, target, err)
}

// RollbackPolicy: env's policy does not pass for the rollback.
func RollbackPolicy(env string, unmet []string) string {
	return fmt.Sprintf("the policy of `%s` does not pass for this rollback: %s", env, strings.Join(unmet, "; "))
}

// RollbackPlanChanged: the rollback plan changed since it was reviewed.
func RollbackPlanChanged(env, target string) string {
	return "the plan changed since it was reviewed — comment `/rollback " + env + " " + target + "` to publish the new plan, and review it"
}

// RollbackTitle heads the outcome of a rollback of env to target by user.
func RollbackTitle(env, target, user string) string {
	return fmt.Sprintf("Rollback of `%s` to %s, by @%s", env, target, user)
}

// NeverDeployed: slipway never deployed ref successfully; good lists
// earlier good deploys.
func NeverDeployed(ref string, good []string) string {
	return fmt.Sprintf("slipway never deployed `%s` successfully there; earlier good deploys: %s", ref, CodeList(good))
}

// RollbackPlanSummary heads a rollback's plan check run: what rolling env
// back from current to target would change, then the plan.
func RollbackPlanSummary(env, current, target, plan string) string {
	return fmt.Sprintf("What `/rollback %s %s` would change, from %s (running now) back to %s:\n\n", env, target, current, target) + plan
}

// RollbackPlanned answers the first /rollback: what was planned (summary,
// with the check run at url) and how it is applied (how: the approvals).
func RollbackPlanned(env, current, target, summary, url, how string) string {
	return fmt.Sprintf("Planned the rollback of `%s` from %s to %s: **%s** ([plan](%s)). Nothing was applied. "+
		"It is applied when `/rollback %s %s` is commented again and the environment's policy passes for this plan: %s, and its rules over the objects at %s. "+
		"Until the default branch moves on, the deploy loop then leaves `%s` at %s.",
		env, current, target, summary, url, env, target, how, target, env, target)
}

// FullReportHint says how to see every object of a plan cut short, at
// commit when it is not "".
func FullReportHint(commit string) string {
	if commit == "" {
		return "Run `slipway plan` to see every object."
	}
	return "Run `slipway plan` at " + commit + " to see every object."
}
