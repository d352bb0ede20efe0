package report

import "fmt"

// What a notification says, in one plain line (receivers render no Markdown).

// notifyOutcome says an outcome in a sentence.
var notifyOutcome = map[string]string{
	"success":   "succeeded",
	"failure":   "failed",
	"error":     "did not finish",
	"refused":   "was refused",
	"in_sync":   "is back in sync",
	"drifted":   "found drift",
	"cancelled": "was cancelled",
}

// NotifyLine is a notification's sentence: "✅ slipway: deploy of acme/shop
// to staging at 0123456 succeeded (2 created)".
func NotifyLine(event, outcome, repo, env, commit, summary string) string {
	words := notifyOutcome[outcome]
	if words == "" {
		words = outcome
	}
	what := fmt.Sprintf("%s of %s to %s at %s %s", event, repo, env, shortSHA(commit), words)
	if event == "drift" {
		what = fmt.Sprintf("drift check of %s in %s at %s %s", repo, env, shortSHA(commit), words)
	}
	if summary != "" {
		what += " (" + summary + ")"
	}
	mark := "❌"
	switch outcome {
	case "success", "in_sync":
		mark = "✅"
	case "refused", "cancelled":
		mark = "⏹️"
	}
	return mark + " slipway: " + what
}
