package githubsim

import (
	"testing"

	"github.com/google/go-github/v60/github"
)

// TestSmallerEndpoints covers the endpoints no bigger scenario needs.
func TestSmallerEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	f.push(t, "feature", map[string]string{"b.txt": "b"})
	comment, err := f.sim.Comment(testRepo, n, "alice", "hi")
	must(t, err)
	d, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "deploy", &github.DeploymentRequest{Ref: github.String("feature"), RequiredContexts: &[]string{}})
	must(t, err)
	st, _, err := f.client.Repositories.CreateDeploymentStatus(f.ctx, "acme", "deploy", d.GetID(), &github.DeploymentStatusRequest{State: github.String("queued")})
	must(t, err)

	tests := []struct {
		name  string
		call  func() (any, error)
		check func(any) bool
	}{
		{"branch", func() (any, error) {
			b, _, err := f.client.Repositories.GetBranch(f.ctx, "acme", "deploy", "feature", 0)
			return b, err
		}, func(v any) bool { return v.(*github.Branch).GetCommit().GetSHA() == f.sim.Head(testRepo, "feature") }},
		{"pull commits", func() (any, error) {
			cs, _, err := f.client.PullRequests.ListCommits(f.ctx, "acme", "deploy", n, nil)
			return cs, err
		}, func(v any) bool {
			cs := v.([]*github.RepositoryCommit)
			return len(cs) == 2 && cs[1].GetSHA() == f.sim.Head(testRepo, "feature")
		}},
		{"installation repositories", func() (any, error) {
			rs, _, err := f.client.Apps.ListRepos(f.ctx, nil)
			return rs, err
		}, func(v any) bool {
			rs := v.(*github.ListRepositories)
			return rs.GetTotalCount() == 1 && rs.Repositories[0].GetFullName() == testRepo
		}},
		{"deployment status", func() (any, error) {
			got, _, err := f.client.Repositories.GetDeploymentStatus(f.ctx, "acme", "deploy", d.GetID(), st.GetID())
			return got, err
		}, func(v any) bool { return v.(*github.DeploymentStatus).GetState() == "queued" }},
		{"delete reaction", func() (any, error) {
			rx, _, err := f.client.Reactions.CreateIssueCommentReaction(f.ctx, "acme", "deploy", comment, "heart")
			if err != nil {
				return nil, err
			}
			_, err = f.client.Reactions.DeleteIssueCommentReaction(f.ctx, "acme", "deploy", comment, rx.GetID())
			return nil, err
		}, func(any) bool { return len(f.sim.Reactions(testRepo, comment)) == 0 }},
		{"user installation", func() (any, error) {
			inst, _, err := f.appClient(t).Apps.FindUserInstallation(f.ctx, "acme")
			return inst, err
		}, func(v any) bool { return v.(*github.Installation).GetID() == f.inst }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.call()
			must(t, err)
			if !tt.check(v) {
				t.Errorf("unexpected result %+v", v)
			}
		})
	}
}

func TestDraftsAndSquash(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	must(t, f.sim.ConvertToDraft(testRepo, n, "alice"))
	if pr := f.sim.PR(testRepo, n); !pr.GetDraft() || pr.GetMergeableState() != "draft" {
		t.Errorf("draft PR: draft %v state %s", pr.GetDraft(), pr.GetMergeableState())
	}
	if _, err := f.sim.Merge(testRepo, n, "bob"); err == nil {
		t.Error("merged a draft")
	}
	must(t, f.sim.MarkReady(testRepo, n, "alice"))
	sha, err := f.sim.MergeWith(testRepo, n, "bob", MergeOptions{Method: "squash"})
	must(t, err)
	c, _, err := f.client.Repositories.GetCommit(f.ctx, "acme", "deploy", sha, nil)
	must(t, err)
	if len(c.Parents) != 1 || c.GetCommit().GetMessage() != "Change feature (#1)\n\n* change feature" {
		t.Errorf("squash commit: %d parents, message %q", len(c.Parents), c.GetCommit().GetMessage())
	}
}

func TestCheckRunRequestedAction(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	run, _, err := f.client.Checks.CreateCheckRun(f.ctx, "acme", "deploy", github.CreateCheckRunOptions{
		Name: "slipway/plan", HeadSHA: f.sim.Head(testRepo, "main"), Conclusion: github.String("neutral"),
		Actions: []*github.CheckRunAction{{Label: "Apply", Description: "Apply the plan", Identifier: "apply"}},
	})
	must(t, err)
	f.sim.Flush() // the created/completed webhooks of the API call come first
	must(t, f.sim.RequestCheckRunAction(testRepo, run.GetID(), "alice", "apply"))
	ev := f.hooks.last(t, "check_run").Payload.(*github.CheckRunEvent)
	if ev.GetAction() != "requested_action" || ev.GetRequestedAction().Identifier != "apply" {
		t.Errorf("requested_action event: %+v", ev)
	}
}
