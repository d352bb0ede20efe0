package report

import (
	"fmt"
	"strings"
)

// The summaries of slipway's check runs and the notes on its plans.

// GroupAlreadyApplied: env matches the merge group's head sha.
func GroupAlreadyApplied(env, sha string) string {
	return fmt.Sprintf("`%s` already matches this merge group's head (%s): the plan there changes nothing, so nothing is left to apply before it lands.", env, sha)
}

// GroupPlanFailed: env's plan at the merge group's head sha failed; check
// names the plan check run.
func GroupPlanFailed(env, sha, check string) string {
	return fmt.Sprintf("The plan of `%s` at this merge group's head (%s) failed, so slipway cannot tell whether the group was applied. See `%s`.", env, sha, check)
}

// GroupDiffers: before-merge env differs from the merge group's head sha,
// by summary.
func GroupDiffers(env, sha, summary string) string {
	return fmt.Sprintf("`%s` deploys before merge, but the cluster differs from this merge group's head (%s): %s. Apply the change from its pull request (`/apply %s`), then queue it again.", env, sha, summary, env)
}

// invalidRules says the default branch's .slipway.yaml (branch at sha) has
// problems, so what was not done; then, how to go on.
func invalidRules(branch, sha, what, problems, then string) string {
	return "slipway reads `.slipway.yaml` from the head of the default branch (`" + branch + "` at " + sha + "), and it has problems, so " + what + ":\n\n```\n" +
		strings.TrimSpace(problems) + "\n```\n\nFix it on `" + branch + "`" + then
}

// InvalidRulesForPR is invalidRules for a pull request's plan.
func InvalidRulesForPR(branch, sha, problems string) string {
	return invalidRules(branch, sha, "nothing was planned", problems, "; this pull request is planned again on its next push or `/plan`.")
}

// InvalidRulesForGroup is invalidRules for a merge group.
func InvalidRulesForGroup(branch, sha, problems string) string {
	return invalidRules(branch, sha, "this merge group was not checked", problems, ", then queue the pull requests again.")
}

// InvalidRulesNote points a pull request at the check run with the lines
// to fix in the default branch's .slipway.yaml.
func InvalidRulesNote(branch string) string {
	return "⚠️ `.slipway.yaml` on the default branch (`" + branch + "`) is invalid; see the `slipway/plan` check run for the lines to fix."
}

// NotAffected says that this what (pull request, push) changes nothing env
// renders from path.
func NotAffected(what, env, path string) string {
	return fmt.Sprintf("This %s changes nothing that `%s` renders (`%s`), so there is nothing to plan. ", what, env, path)
}

// NeutralPlan explains a neutral plan check of env.
func NeutralPlan(env string) string {
	return "The check is neutral so that branch protection can require it for every environment. Comment `/plan " + env + "` on a pull request to plan it anyway."
}

// NeutralApply explains a neutral apply check of env.
func NeutralApply(env string) string {
	return "Merging it changes nothing in `" + env + "`, so nothing needs applying first."
}

// OtherBase says why a pull request into base, not the default branch, is
// left alone.
func OtherBase(base, defaultBranch string) string {
	return fmt.Sprintf("This pull request targets `%s`, not `%s`, the default branch: slipway plans, applies and deploys only pull requests into `%s`, so nothing here is planned or applied, and merging it deploys nothing.",
		base, defaultBranch, defaultBranch)
}

// ForkNotPlanned says why a pull request from (a fork) into repo waits for
// a writer's /plan.
func ForkNotPlanned(from, repo string) string {
	return fmt.Sprintf("This pull request comes from %s, so slipway does not plan it by itself: its manifests and charts are code from outside %s. "+
		"A user with write permission on %s can comment `/plan` to plan it, after reading the change. Pull requests from forks never take environment locks, and cannot be `/apply`d.", from, repo, repo)
}

// DriftHeldByLock: drift of env is not reconciled because holder holds
// its lock.
func DriftHeldByLock(holder int, env string) string {
	return fmt.Sprintf("Not reconciled: #%d holds the `%s` lock; what it applied is not drift to undo.\n\n", holder, env)
}

// RetryApply says how to run env's interrupted apply again.
func RetryApply(env string) string {
	return "Check the environment, then comment `/apply " + env + "` to run it again."
}

// NothingAffected notes a pull request that no environment renders.
func NothingAffected() string {
	return "No environments affected: this pull request changes nothing that any environment in `.slipway.yaml` renders."
}

// PlanInternalError: planning env hit an internal error.
func PlanInternalError(env string) string {
	return "slipway hit an internal error while planning, so this plan was not done. Comment `/plan " + env + "` to try again."
}

// ConfigEdited notes a pull request that edits .slipway.yaml.
func ConfigEdited() string {
	return "This pull request edits `.slipway.yaml`. slipway reads it from the head of the default branch, so the change takes effect after merge."
}

// Applying is the summary of an apply in progress to env.
func Applying(env string) string { return "slipway is applying this plan to `" + env + "`." }

// warning starts a GitHub alert that slipway puts at the top of its
// sticky comment.
const warning = "> [!WARNING]"

// StaleWarning is the alert MarkStale puts above a plan that no longer
// holds, saying note.
func StaleWarning(note string) string { return warning + "\n> " + note + "\n" }

// HasWarning reports whether body starts with one of slipway's alerts.
func HasWarning(body string) bool { return strings.HasPrefix(strings.TrimLeft(body, "\n"), warning) }

// InternalError tells a pull request that slipway hit a bug while doing
// what and stopped; delivery, when known, finds it in the server log.
func InternalError(what, delivery string) string {
	where := "the server log"
	if delivery != "" {
		where = fmt.Sprintf("the server log (delivery `%s`)", delivery)
	}
	return fmt.Sprintf(warning+"\n> slipway hit an internal error during `%s` and stopped, so that work was not done. "+
		"Push again or comment `/plan` to retry; if it keeps failing, whoever runs slipway can find the error in %s.\n", what, where)
}
