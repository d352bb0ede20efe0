package workflow

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/gh"
)

// errNoAppID refuses to read slipway's state without knowing which App is
// slipway: every App's check runs would pass for its own.
var errNoAppID = errors.New("the App's id is not set (github.app.integration_id), so slipway cannot tell its own check runs from other Apps'")

// ownRuns lists the check runs slipway's own App made on sha, newest
// first. Check runs of other Apps (a CI job posting "slipway/apply: …") are
// never slipway's state: not an apply, a plan digest, nor a pusher record.
func (s *Session) ownRuns(ctx context.Context, sha string) ([]gh.CheckRunState, error) {
	if s.AppID == 0 {
		return nil, errNoAppID
	}
	return s.GitHub.CheckRuns(ctx, s.Repo, sha, s.AppID)
}

// pushedByLine records, as the last line of a plan check run's summary,
// who pushed the commit planned: the webhook that said so is a hint, gone
// after a restart, so the plan keeps it where any replica can read it back.
func pushedByLine(login string) string {
	return "<sub>Head commit pushed by @" + login + ".</sub>"
}

// pushedByRE reads pushedByLine back, only as the summary's last line: the
// lines above it carry the rendered manifests, which the pull request
// writes.
var pushedByRE = regexp.MustCompile(`(?:^|\n)<sub>Head commit pushed by @([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?)\.</sub>$`)

// withPusher ends summary with the pusher's line, when the pusher is known.
func withPusher(summary, pusher string) string {
	if pusher == "" {
		return summary
	}
	return summary + "\n\n" + pushedByLine(pusher)
}

// pushers are everyone slipway's plan runs on a commit record as having
// pushed it: a commit pushed twice (a force-push back) has two.
func pushers(runs []gh.CheckRunState) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range runs {
		if !strings.HasPrefix(r.Name, checkPlanPrefix) {
			continue
		}
		m := pushedByRE.FindStringSubmatch(strings.TrimRight(r.Summary, " \n"))
		if m != nil && !seen[strings.ToLower(m[1])] {
			seen[strings.ToLower(m[1])] = true
			out = append(out, m[1])
		}
	}
	return out
}

// published is the newest digest of env's plans on the commit of runs
// (completed, so a reviewer could read it), and when a plan with that digest
// was first completed there: an approval given earlier was not of it.
func published(runs []gh.CheckRunState, env string) (string, time.Time) {
	digest := ""
	var first time.Time
	for _, r := range runs { // newest first
		if r.Name != checkPlanPrefix+env || r.Status != "completed" || r.ExternalID == "" {
			continue
		}
		if digest == "" {
			digest = r.ExternalID
		}
		if r.ExternalID == digest && !r.CompletedAt.IsZero() {
			first = r.CompletedAt
		}
	}
	if first.IsZero() {
		return "", time.Time{} // no date: no approval can be shown to follow it
	}
	return digest, first
}
