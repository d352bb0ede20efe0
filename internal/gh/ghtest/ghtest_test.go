package ghtest

import (
	"context"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
)

var repo = gh.Repo{Owner: "acme", Name: "shop"}

// Check runs are listed newest first, filtered by App, and an update keeps
// what it does not set, as on GitHub.
func TestCheckRuns(t *testing.T) {
	ctx := context.Background()
	f := New("slipway[bot]", 42)
	f.AddCheckRun("sha1", 7, gh.CheckRunState{Name: "ci", Status: "completed", Conclusion: "success"})
	id, url, err := f.CreateCheckRun(ctx, repo, gh.CheckRun{Name: "slipway/plan: staging", HeadSHA: "sha1", Status: "in_progress", ExternalID: "sha256:1"})
	if err != nil || url == "" {
		t.Fatalf("create: %v %q", err, url)
	}
	if err := f.UpdateCheckRun(ctx, repo, id, gh.CheckRun{Name: "slipway/plan: staging", Conclusion: "success", Title: "1 change"}); err != nil {
		t.Fatal(err)
	}
	own, _ := f.CheckRuns(ctx, repo, "sha1", 42)
	if len(own) != 1 {
		t.Fatalf("own runs %+v, want one", own)
	}
	r := own[0]
	if r.ID != id || r.AppID != 42 || r.Status != "completed" || r.Conclusion != "success" || r.ExternalID != "sha256:1" || r.Title != "1 change" || r.CompletedAt.IsZero() {
		t.Errorf("run after update: %+v", r)
	}
	all := f.Runs("sha1")
	if len(all) != 2 || all[0].ID != id || all[1].Name != "ci" {
		t.Errorf("all runs %+v, want ours then ci", all)
	}
	if err := f.UpdateCheckRun(ctx, repo, 999, gh.CheckRun{}); err == nil {
		t.Error("updated a run that does not exist")
	}
}

// Comments written through the port are the bot's; deployments are the
// bot's, newest first, with the newest status and the payload's tool.
func TestCommentsAndDeployments(t *testing.T) {
	ctx := context.Background()
	f := New("slipway[bot]", 42)
	human := f.AddComment(7, "alice", "/apply")
	id, _ := f.CreateComment(ctx, repo, 7, "plan")
	if err := f.EditComment(ctx, repo, id, "plan v2"); err != nil {
		t.Fatal(err)
	}
	if err := f.React(ctx, repo, human, "eyes"); err != nil {
		t.Fatal(err)
	}
	if got := f.BotComments(7); len(got) != 1 || got[0].Body != "plan v2" || got[0].Author != "slipway[bot]" {
		t.Errorf("bot comments %+v", got)
	}
	if got := f.Reactions(human); len(got) != 1 || got[0] != "eyes" {
		t.Errorf("reactions %v", got)
	}
	d1, _ := f.CreateDeployment(ctx, repo, gh.Deployment{Ref: "a", Environment: "staging", Payload: map[string]string{"tool": "slipway"}})
	d2, _ := f.CreateDeployment(ctx, repo, gh.Deployment{Ref: "b", Environment: "production"})
	_ = f.CreateDeploymentStatus(ctx, repo, d1, gh.DeploymentStatus{State: "in_progress"})
	_ = f.CreateDeploymentStatus(ctx, repo, d1, gh.DeploymentStatus{State: "success", Description: "applied"})
	recent, _ := f.RecentDeployments(ctx, repo, 10)
	if len(recent) != 2 || recent[0].ID != d2 || recent[1].State != "success" || recent[1].Tool != "slipway" || recent[1].Creator != "slipway[bot]" {
		t.Errorf("recent deployments %+v", recent)
	}
	staging, _ := f.EnvironmentDeployments(ctx, repo, "staging", 10)
	if len(staging) != 1 || staging[0].ID != d1 {
		t.Errorf("staging deployments %+v", staging)
	}
}

// The fake is used from the workflows' goroutines; run with -race.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	f := New("slipway[bot]", 42)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = f.CreateCheckRun(ctx, repo, gh.CheckRun{Name: "x", HeadSHA: "s", Status: "completed", Conclusion: "neutral"})
			_, _ = f.CreateComment(ctx, repo, 1, "c")
		}()
	}
	wg.Wait()
	if n, m := len(f.Runs("s")), len(f.BotComments(1)); n != 20 || m != 20 {
		t.Errorf("%d runs and %d comments, want 20 each", n, m)
	}
}

// History answers only what the test arranged: an unarranged comparison is
// an error (a test that forgot it fails loudly), equal commits are identical.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	f := New("slipway[bot]", 42)
	f.SetCompare("a", "b", gh.Comparison{Status: "ahead", Files: []string{"x"}, Complete: true})
	f.SetParent("b", "a")
	f.SetPR(gh.PR{Number: 3, State: "closed", Merged: true, MergeCommitSHA: "b"})
	f.SetPR(gh.PR{Number: 4, State: "open"})
	if c, err := f.Compare(ctx, repo, "a", "b"); err != nil || c.Status != "ahead" || len(c.Files) != 1 {
		t.Errorf("compare a...b = %+v, %v", c, err)
	}
	if c, err := f.Compare(ctx, repo, "b", "b"); err != nil || c.Status != "identical" {
		t.Errorf("compare b...b = %+v, %v", c, err)
	}
	if _, err := f.Compare(ctx, repo, "b", "a"); err == nil {
		t.Error("an unarranged comparison answered")
	}
	if p, _ := f.FirstParent(ctx, repo, "b"); p != "a" {
		t.Errorf("first parent of b = %q", p)
	}
	if pr, _ := f.MergedPullRequest(ctx, repo, "b"); pr == nil || pr.Number != 3 {
		t.Errorf("merged pull request of b = %+v", pr)
	}
	if pr, _ := f.MergedPullRequest(ctx, repo, "c"); pr != nil {
		t.Errorf("merged pull request of c = %+v, want none", pr)
	}
	if open, _ := f.OpenPullRequests(ctx, repo); len(open) != 1 || open[0].Number != 4 {
		t.Errorf("open pull requests %+v", open)
	}
}
