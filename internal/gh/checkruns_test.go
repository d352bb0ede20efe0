package gh

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// TestWhoMadeWhat: CheckRuns keeps to one App's runs (asking GitHub by
// app_id), reviews carry when they were submitted, and a commit's author
// and committer are GitHub logins.
func TestWhoMadeWhat(t *testing.T) {
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: "s", Dir: t.TempDir(), CacheControl: "no-cache"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst, err := sim.CreateInstallation("acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateRepo(inst, "acme/shop", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetPermission("acme/shop", "bob", "write"); err != nil {
		t.Fatal(err)
	}
	head, err := sim.Push("acme/shop", "change", map[string]string{"a": "c"}, "change", "carol")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := sim.OpenPR("acme/shop", "change", "main", "change", "alice")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Truncate(time.Second)
	if _, err := sim.Review("acme/shop", pr, "bob", "APPROVED"); err != nil {
		t.Fatal(err)
	}
	var cfg githubapp.Config
	cfg.V3APIURL, cfg.V4APIURL = sim.V3URL(), sim.V4URL()
	cfg.App.IntegrationID = sim.AppID()
	cfg.App.PrivateKey = string(sim.PrivateKeyPEM())
	creator, err := transport.NewCreator(cfg, transport.Options{Backoff: backoff.Policy{Base: time.Millisecond, Max: time.Millisecond}}, metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	gh, err := creator.NewInstallationClient(inst)
	if err != nil {
		t.Fatal(err)
	}
	c, repo, ctx := New(gh), Repo{Owner: "acme", Name: "shop"}, context.Background()

	if _, _, err := c.CreateCheckRun(ctx, repo, CheckRun{Name: "slipway/plan: staging", HeadSHA: head, Status: "completed", Conclusion: "success", ExternalID: "sha256:1", Title: "t", Summary: "s"}); err != nil {
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
	all, err := c.CheckRuns(ctx, repo, head, AnyApp)
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
	gh := github.NewClient(nil)
	gh.BaseURL, _ = url.Parse(srv.URL + "/")
	runs, err := New(gh).CheckRuns(context.Background(), Repo{Owner: "acme", Name: "shop"}, "abc", 7)
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
