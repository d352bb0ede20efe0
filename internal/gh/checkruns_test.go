package gh_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/world"
)

// TestWhoMadeWhat: CheckRuns keeps to one App's runs (asking GitHub by
// app_id), reviews carry when they were submitted, and a commit's author
// and committer are GitHub logins.
func TestWhoMadeWhat(t *testing.T) {
	w := world.New(t, world.Options{Files: map[string]string{"a": "b"}, Permissions: map[string]string{"bob": "write"}})
	sim := w.Sim
	head := w.Push(t, "change", "carol", map[string]string{"a": "c"})
	pr := w.OpenPR(t, "change", "alice", nil)
	before := time.Now().Truncate(time.Second)
	if _, err := sim.Review("acme/shop", pr, "bob", "APPROVED"); err != nil {
		t.Fatal(err)
	}
	c, repo, ctx := w.Port(t, fastRetries), w.GHRepo(), context.Background()

	if _, _, err := c.CreateCheckRun(ctx, repo, gh.CheckRun{Name: "slipway/plan: staging", HeadSHA: head, Status: "completed", Conclusion: "success", ExternalID: "sha256:1", Title: "t", Summary: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateCheckRunAs(githubsim.GitHubActions, "acme/shop", githubsim.OtherCheckRun{Name: "slipway/apply: staging", HeadSHA: head, Conclusion: "success"}); err != nil {
		t.Fatal(err)
	}
	own, err := c.CheckRuns(ctx, repo, head, sim.AppID())
	if err != nil {
		t.Fatal(err)
	}
	if len(own) != 1 || own[0].Name != "slipway/plan: staging" || own[0].AppID != sim.AppID() || own[0].Summary != "s" || own[0].CompletedAt.IsZero() {
		t.Errorf("own runs: %+v", own)
	}
	all, err := c.CheckRuns(ctx, repo, head, gh.AnyApp)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].AppID != githubsim.GitHubActions.ID {
		t.Errorf("every App's runs: %+v", all)
	}

	reviews, err := c.Reviews(ctx, repo, pr)
	if err != nil {
		t.Fatal(err)
	}
	if len(reviews) != 1 || reviews[0].SubmittedAt.Before(before) || reviews[0].SubmittedAt.After(time.Now()) {
		t.Errorf("reviews: %+v (submitted since %v)", reviews, before)
	}
	author, committer, err := c.CommitAuthors(ctx, repo, head)
	if err != nil || author != "carol" || committer != "carol" {
		t.Errorf("CommitAuthors = %q, %q, %v; want carol, carol", author, committer, err)
	}
}

// TestCheckRunsChecksEachRunsApp: a run of another App is dropped even when
// the server does not honour app_id.
func TestCheckRunsChecksEachRunsApp(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"total_count":2,"check_runs":[
			{"id":2,"name":"slipway/apply: staging","status":"completed","conclusion":"success","app":{"id":15368,"slug":"github-actions"}},
			{"id":1,"name":"slipway/plan: staging","status":"completed","conclusion":"success","app":{"id":7,"slug":"slipway"}}]}`))
	}))
	t.Cleanup(srv.Close)
	client := github.NewClient(nil)
	client.BaseURL, _ = url.Parse(srv.URL + "/")
	runs, err := gh.New(client).CheckRuns(context.Background(), gh.Repo{Owner: "acme", Name: "shop"}, "abc", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(query, "app_id=7") {
		t.Errorf("query %q does not ask for app_id=7", query)
	}
	if len(runs) != 1 || runs[0].ID != 1 {
		t.Errorf("runs %+v, want only #1 (App 7)", runs)
	}
}
