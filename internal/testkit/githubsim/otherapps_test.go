package githubsim

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// TestOtherAppsCheckRuns: another App's runs carry its app, are listed
// unless app_id names another App, cannot be edited by the simulated App,
// and their re-runs are not announced to it.
func TestOtherAppsCheckRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	head := f.sim.Head(testRepo, "feature")

	own, _, err := f.client.Checks.CreateCheckRun(f.ctx, "acme", "deploy", github.CreateCheckRunOptions{
		Name: "slipway/plan: staging", HeadSHA: head, Conclusion: github.String("success"),
		CompletedAt: &github.Timestamp{Time: time.Date(2026, 12, 2, 9, 0, 1, 600_000_000, time.UTC)},
	})
	must(t, err)
	if got := own.GetCompletedAt().Time; !got.Equal(time.Date(2026, 12, 2, 9, 0, 1, 0, time.UTC)) {
		t.Errorf("completed_at %v: GitHub keeps whole seconds", got)
	}
	foreignID, err := f.sim.CreateCheckRunAs(GitHubActions, testRepo, OtherCheckRun{
		Name: "slipway/apply: staging", HeadSHA: head, Conclusion: "success", Title: "Applied", Summary: "trust me",
	})
	must(t, err)
	if _, err := f.sim.CreateCheckRunAs(OtherApp{ID: f.sim.AppID(), Slug: "slipway"}, testRepo, OtherCheckRun{Name: "x", HeadSHA: head}); err == nil {
		t.Error("CreateCheckRunAs accepted the simulated App itself")
	}

	foreign, _, err := f.client.Checks.GetCheckRun(f.ctx, "acme", "deploy", foreignID)
	must(t, err)
	if foreign.GetApp().GetID() != GitHubActions.ID || foreign.GetApp().GetSlug() != "github-actions" ||
		foreign.GetConclusion() != "success" || foreign.GetCheckSuite().GetID() == own.GetCheckSuite().GetID() {
		t.Errorf("foreign run: app %d %q, conclusion %q, suite %d (own %d)", foreign.GetApp().GetID(), foreign.GetApp().GetSlug(),
			foreign.GetConclusion(), foreign.GetCheckSuite().GetID(), own.GetCheckSuite().GetID())
	}

	for _, tt := range []struct {
		app  *int64
		want string
	}{
		{nil, "slipway/apply: staging,slipway/plan: staging"},
		{github.Int64(f.sim.AppID()), "slipway/plan: staging"},
		{github.Int64(GitHubActions.ID), "slipway/apply: staging"},
		{github.Int64(999), ""},
	} {
		res, _, err := f.client.Checks.ListCheckRunsForRef(f.ctx, "acme", "deploy", head, &github.ListCheckRunsOptions{AppID: tt.app, Filter: github.String("all")})
		must(t, err)
		var names []string
		for _, r := range res.CheckRuns {
			names = append(names, r.GetName())
		}
		if got := strings.Join(names, ","); got != tt.want || res.GetTotal() != len(names) {
			t.Errorf("app_id %v: %q (total %d), want %q", tt.app, got, res.GetTotal(), tt.want)
		}
	}

	if _, _, err := f.client.Checks.UpdateCheckRun(f.ctx, "acme", "deploy", foreignID, github.UpdateCheckRunOptions{Name: "slipway/apply: staging", Conclusion: github.String("failure")}); statusOf(err) != 403 {
		t.Errorf("editing another App's run: %v, want 403", err)
	}

	f.sim.Flush()
	var seen []string
	for _, e := range f.hooks.events() {
		if ev, ok := e.Payload.(*github.CheckRunEvent); ok && ev.GetCheckRun().GetID() == foreignID {
			seen = append(seen, ev.GetAction()+" by "+ev.GetSender().GetLogin()+" app "+ev.GetCheckRun().GetApp().GetSlug())
		}
	}
	want := "created by github-actions[bot] app github-actions,completed by github-actions[bot] app github-actions"
	if got := strings.Join(seen, ","); got != want {
		t.Errorf("webhooks for the foreign run: %q, want %q", got, want)
	}
	must(t, f.sim.RerequestCheckRun(testRepo, foreignID, "alice"))
	f.sim.Flush()
	for _, e := range f.hooks.events() {
		if ev, ok := e.Payload.(*github.CheckRunEvent); ok && ev.GetAction() == "rerequested" {
			t.Errorf("a re-run of another App's check was announced to the simulated App")
		}
	}
}
