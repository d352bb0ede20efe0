package report

import (
	"fmt"
	"strings"
)

// The answers to commands: refusals and what a command did, said to the
// commenter. workflow decides what to say; these say it.

// code renders s as inline code, as every reply names environments,
// commands, branches and files.
func code(s string) string { return "`" + s + "`" }

// CodeList is items as inline code, comma-separated.
func CodeList(items []string) string {
	quoted := make([]string, len(items))
	for i, it := range items {
		quoted[i] = code(it)
	}
	return strings.Join(quoted, ", ")
}

// ApplyRefused answers an /apply that applied nothing, with each reason.
func ApplyRefused(user string, reasons []string) string {
	if len(reasons) == 1 {
		return "@" + user + " `/apply` refused, nothing was applied: " + reasons[0]
	}
	return "@" + user + " `/apply` refused, nothing was applied:\n\n- " + strings.Join(reasons, "\n- ")
}

// CommandRefused answers a command that the pull request's base refuses.
func CommandRefused(user, verb, why string) string {
	return "@" + user + " `/" + verb + "` refused: " + why
}

// NoPermission answers a command from someone without write permission.
func NoPermission(verb, repo, user, perm string) string {
	if verb == "apply" {
		return ApplyRefused(user, []string{fmt.Sprintf("@%s has %s permission on %s, and `/apply` needs write", user, perm, repo)})
	}
	return fmt.Sprintf("`/%s` needs write permission on %s; @%s has %s.", verb, repo, user, perm)
}

// NoConfig answers a command in a repository without .slipway.yaml.
func NoConfig(verb string) string {
	return "This repository has no `.slipway.yaml` on its default branch, so there is nothing to " + verb + "."
}

// InvalidConfigForApply answers an /apply when the default branch's
// .slipway.yaml has problems, listed in problems.
func InvalidConfigForApply(problems string) string {
	return "`.slipway.yaml` on the default branch is invalid, so nothing can be applied:\n\n```\n" + strings.TrimSpace(problems) + "\n```"
}

// PolicyNotPassing: env's policy check fails for the reasons unmet.
func PolicyNotPassing(env string, unmet []string) string {
	return fmt.Sprintf("the `slipway/policy: %s` check does not pass: %s", env, strings.Join(unmet, "; "))
}

// NoPlanToApply: env has no successful plan at sha.
func NoPlanToApply(env, sha string) string {
	return fmt.Sprintf("`%s` has no successful plan at %s to apply; comment `/plan %s` and review it first", env, sha, env)
}

// FromDeletedFork: pull request number's head repository is gone.
func FromDeletedFork(number int, repo string) string {
	return fmt.Sprintf("#%d comes from a repository GitHub no longer shows (a deleted fork?); `/apply` runs only pull requests from branches of %s. Merge it to deploy it, or push the branch to %s and open a pull request from there.", number, repo, repo)
}

// FromFork: pull request number comes from the fork head of repo.
func FromFork(number int, head, repo string) string {
	return fmt.Sprintf("#%d comes from the fork %s; `/apply` runs only pull requests from branches of %s itself. Merge it to deploy it, or push the branch to %s and open a pull request from there.", number, head, repo, repo)
}

// NoBeforeMergePlanned: /apply without names found nothing to apply.
func NoBeforeMergePlanned() string {
	return "no `before-merge` environment is planned at this head. Environments in `on-merge` mode are applied when the pull request merges."
}

// NoSuchEnvironment: name is not in .slipway.yaml.
func NoSuchEnvironment(name string) string {
	return fmt.Sprintf("there is no environment `%s` in `.slipway.yaml`", name)
}

// DeploysOnMerge: /apply named an environment that deploys on merge.
func DeploysOnMerge(env, mode string) string {
	return fmt.Sprintf("`%s` deploys when this pull request merges (`mode: %s`); `/apply` is for `before-merge` environments", env, mode)
}

// LockedForApply: env is held by pull request holder.
func LockedForApply(env string, holder int) string {
	return fmt.Sprintf("`%s` is locked by #%d; it can be applied once #%d merges or closes or someone comments `/unlock %s` there (a repository admin can `/unlock %s --force` here)", env, holder, holder, env, env)
}

// LockNotTaken: env's lock could not be taken, for err.
func LockNotTaken(env string, err error) string {
	return fmt.Sprintf("the lock on `%s` could not be taken: %v", env, err)
}

// MergedMovedOn: the default branch moved on since the merged pull request
// number, so applying its merge again would go back.
func MergedMovedOn(branch, head string, number int, merge string) string {
	return fmt.Sprintf("`%s` has moved on to %s since #%d merged (%s): on-merge environments follow its head, which slipway deploys by itself. To go back, revert in a pull request.",
		branch, head, number, merge)
}

// NoOnMergeAffected: /apply on a merged pull request found nothing.
func NoOnMergeAffected() string {
	return "this merge affected no on-merge environment; name one: `/apply ENV`"
}
