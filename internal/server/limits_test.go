package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// GitHub answers a plan's calls with secondary and primary rate limits and
// 5xx errors, some of them after the write took effect; the pull request
// still ends with one sticky comment holding the plan and one completed
// check run per name, and the retries show in the metrics.
func TestPlanSurvivesGitHubLimitsAndFailures(t *testing.T) {
	w := newWorld(t, 4)
	inject := func(faults ...githubsim.Fault) {
		t.Helper()
		for _, f := range faults {
			if err := w.sim.InjectFault(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	inject(
		// Reading the pull request, its base config and its files.
		githubsim.SecondaryRateLimit("GET", `/pulls/\d+$`, time.Second),
		githubsim.PrimaryRateLimit("GET", `/contents/`, time.Now().Add(2*time.Second)),
		githubsim.ServerError("GET", `/pulls/\d+/files$`, http.StatusBadGateway),
		githubsim.ServerError("GET", `/pulls/\d+/files$`, http.StatusServiceUnavailable),
		// Creating check runs: refused, then made with the answer lost.
		githubsim.SecondaryRateLimit("POST", `/check-runs$`, time.Second),
		githubsim.LostAnswer("POST", `/check-runs$`, http.StatusBadGateway),
		// Completing them.
		githubsim.ServerError("PATCH", `/check-runs/\d+$`, http.StatusBadGateway),
		githubsim.LostAnswer("PATCH", `/check-runs/\d+$`, http.StatusGatewayTimeout),
		// Creating the sticky comment: refused, then made with the answer lost.
		githubsim.SecondaryRateLimit("POST", `/issues/\d+/comments$`, time.Second),
		githubsim.LostAnswer("POST", `/issues/\d+/comments$`, http.StatusBadGateway),
		githubsim.ServerError("GET", `/issues/\d+/comments$`, http.StatusInternalServerError),
	)
	n := w.openPR("limits", "alice", map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"11\"\n"})
	first := w.head(n)
	if run := w.completed(first, "slipway/plan: staging"); run.GetConclusion() != "success" {
		t.Errorf("plan check run: %s %q", run.GetConclusion(), run.GetOutput().GetTitle())
	}
	w.eventually("the sticky comment with the plan", func() bool {
		c := w.stickyComments(n)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), first[:7]) && strings.Contains(c[0].GetBody(), `"n": "11"`)
	})
	// The policy check comes after the comment: the plan's work is done.
	w.completed(first, "slipway/policy: staging")
	w.eventually("every fault met", func() bool { return w.sim.PendingFaults() == 0 })
	w.sim.Flush()
	w.assertOneOfEach(t, n, first)

	// The next push: the comment is edited, not created, through failures.
	inject(
		githubsim.ServerError("PATCH", `/issues/comments/\d+$`, http.StatusBadGateway),
		githubsim.LostAnswer("PATCH", `/issues/comments/\d+$`, http.StatusBadGateway),
		githubsim.SecondaryRateLimit("POST", `/check-runs$`, time.Second),
		githubsim.LostAnswer("POST", `/check-runs$`, http.StatusBadGateway),
	)
	second, err := w.sim.Push(w.repo, "limits", map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"12\"\n"}, "again", "alice")
	if err != nil {
		t.Fatal(err)
	}
	w.completed(second, "slipway/plan: staging")
	w.eventually("the comment to describe the new head", func() bool {
		c := w.stickyComments(n)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), second[:7]) && strings.Contains(c[0].GetBody(), `"n": "12"`)
	})
	w.completed(second, "slipway/policy: staging")
	w.eventually("every fault met", func() bool { return w.sim.PendingFaults() == 0 })
	w.sim.Flush()
	w.assertOneOfEach(t, n, second)

	m := w.srv.Metrics()
	for _, reason := range []string{"secondary", "primary", "server_error"} {
		if got := testutil.ToFloat64(m.GitHubRetries.WithLabelValues(reason)); got < 1 {
			t.Errorf("retries{%s} = %v, want them counted", reason, got)
		}
	}
	if got := testutil.ToFloat64(m.GitHubRateLimited.WithLabelValues("secondary")); got < 4 {
		t.Errorf("rate_limited{secondary} = %v, want every secondary limit counted", got)
	}
}

// assertOneOfEach checks that no write was made twice: one sticky comment
// that was never deleted (so never duplicated and cleaned up), no replies,
// and one completed check run per name on sha.
func (w *world) assertOneOfEach(t *testing.T, n int, sha string) {
	t.Helper()
	if c := w.stickyComments(n); len(c) != 1 {
		t.Errorf("%d sticky comments, want 1", len(c))
	}
	if r := w.replies(n); len(r) != 0 {
		t.Errorf("replies %q, want none", r)
	}
	deleteComment := regexp.MustCompile(`/issues/comments/\d+$`)
	for _, r := range w.sim.Requests() {
		if r.Method == "DELETE" && deleteComment.MatchString(r.Path) {
			t.Errorf("a comment was deleted (%s): a duplicate was made and cleaned up", r.Path)
		}
	}
	names := map[string]int{}
	for _, cr := range w.checkRuns(sha, "") {
		names[cr.GetName()]++
		if cr.GetStatus() != "completed" {
			t.Errorf("check run %q is %s", cr.GetName(), cr.GetStatus())
		}
	}
	if names["slipway/plan: staging"] == 0 {
		t.Errorf("no plan check run on %s", sha[:7])
	}
	for name, count := range names {
		if count != 1 {
			t.Errorf("%d check runs named %q on %s, want 1", count, name, sha[:7])
		}
	}
}
