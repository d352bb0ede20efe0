package report

import (
	"fmt"
	"html"
	"strings"
)

// maxReconcilerMessage bounds a reconciler's message on a check run: Flux
// and Argo CD can list every object that failed.
const maxReconcilerMessage = 4 * maxApplyMessage

// Following is the check run summary while slipway follows the reconciler
// object of environment env after asking it to reconcile commit.
func Following(env, object, commit, wait string) string {
	return fmt.Sprintf("#### <code>%s</code> · ⏳ waiting for %s\n\nslipway asked %s to reconcile %s and follows its status for up to %s. slipway applies nothing itself.\n",
		html.EscapeString(env), escapeMarkdown(object), escapeMarkdown(object), shortSHA(commit), escapeMarkdown(wait))
}

// Followed is the check run summary once following ended: state is the
// Deployment's (success, failure, error) and message the reconciler's own
// words (or why slipway could not tell), which are untrusted text: object
// names and API server messages from the repository's manifests.
func Followed(env, object, commit, state, message string) string {
	verdict := "✅ applied by " + escapeMarkdown(object)
	alert := "NOTE"
	switch state {
	case "failure":
		verdict, alert = "❌ "+escapeMarkdown(object)+" failed", "CAUTION"
	case "error":
		verdict, alert = "⚠️ no outcome from "+escapeMarkdown(object), "WARNING"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### <code>%s</code> · %s\n\ncommit %s\n", html.EscapeString(env), verdict, shortSHA(commit))
	if message != "" {
		fmt.Fprintf(&b, "\n> [!%s]\n> %s\n", alert, multilineCell(cutWithEllipsis(message, maxReconcilerMessage)))
	}
	return b.String()
}

// NotAppliedBySlipway: /apply (or apply from the CLI) named env, which
// reconciler (a Flux or Argo CD object) applies.
func NotAppliedBySlipway(env, reconciler string) string {
	return fmt.Sprintf("`%s` is applied by %s, not by slipway: merge to deploy it, and slipway asks %s to reconcile the merge commit and records the outcome as a Deployment", env, reconciler, reconciler)
}

// RollbackReconciled: /rollback named env, which reconciler applies.
func RollbackReconciled(env, reconciler string) string {
	return NotAppliedBySlipway(env, reconciler) + "; to go back, revert the change in a pull request"
}

// ReconciledNote is the plan note of an environment reconciler applies,
// dry-run as fieldManager.
func ReconciledNote(reconciler, fieldManager string) string {
	return fmt.Sprintf("Applied by %s after merge, not by slipway; this is its diff (dry-run as %s). On merge slipway asks it to reconcile and records the outcome as a Deployment.", reconciler, fieldManager)
}

// WaitingFor is the title of the apply check run, and the in-progress
// Deployment status, while slipway follows object.
func WaitingFor(object string) string { return "waiting for " + object }

// ReconciledDeployment describes a Deployment that object applies: what
// started it (a pull request, "direct push") and the commit.
func ReconciledDeployment(what, commit, object string) string {
	return fmt.Sprintf("slipway: %s at %s, applied by %s", what, commit, object)
}
