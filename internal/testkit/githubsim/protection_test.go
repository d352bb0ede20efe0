package githubsim

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// completeRun reports a check run of the simulated App on sha through the API.
func (f *fixture) completeRun(t *testing.T, sha, name, conclusion string) {
	t.Helper()
	_, _, err := f.client.Checks.CreateCheckRun(f.ctx, "acme", "deploy", github.CreateCheckRunOptions{
		Name: name, HeadSHA: sha, Status: github.String("completed"), Conclusion: github.String(conclusion),
	})
	must(t, err)
}

func refusedWith(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var r *refusal
	if !errors.As(err, &r) || r.status != status || r.message != msg {
		t.Fatalf("refused with %v, want %d %q", err, status, msg)
	}
}

// Branch protection as GitHub enforces it: every required check must have
// passed (success, neutral or skipped) on the head, from the App it is
// pinned to, before the API or Sim.Merge merges.
func TestRequiredChecksOnMerge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"apps/web/deployment.yaml": "replicas: 2\n"})
	head := f.sim.PR(testRepo, n).GetHead().GetSHA()
	must(t, f.sim.SetRequiredChecks(testRepo, "main", []RequiredCheck{
		{Context: "slipway/plan: production", AppID: f.sim.AppID()},
		{Context: "ci"}, // any source
	}))

	branch, _, err := f.client.Repositories.GetBranch(f.ctx, "acme", "deploy", "main", 0)
	must(t, err)
	if !branch.GetProtected() {
		t.Error("main is not shown protected")
	}
	pr, _, err := f.client.PullRequests.Get(f.ctx, "acme", "deploy", n)
	must(t, err)
	if pr.GetMergeableState() != "blocked" {
		t.Errorf("mergeable_state %q with no required check reported, want blocked", pr.GetMergeableState())
	}
	_, _, err = f.client.PullRequests.Merge(f.ctx, "acme", "deploy", n, "", nil)
	if statusOf(err) != http.StatusMethodNotAllowed || !strings.Contains(err.Error(), `Required status check "slipway/plan: production" is expected.`) {
		t.Fatalf("merge without checks: %v", err)
	}

	// Another App reporting the pinned name does not count; a failing run
	// of the right App is "failing"; a neutral one passes.
	_, err = f.sim.CreateCheckRunAs(GitHubActions, testRepo, OtherCheckRun{Name: "slipway/plan: production", HeadSHA: head, Conclusion: "success"})
	must(t, err)
	_, err = f.sim.Merge(testRepo, n, "alice")
	refusedWith(t, err, http.StatusMethodNotAllowed, `Required status check "slipway/plan: production" is expected.`)
	f.completeRun(t, head, "slipway/plan: production", "failure")
	_, err = f.sim.Merge(testRepo, n, "alice")
	refusedWith(t, err, http.StatusMethodNotAllowed, `Required status check "slipway/plan: production" is failing.`)
	f.completeRun(t, head, "slipway/plan: production", "neutral")
	_, err = f.sim.Merge(testRepo, n, "alice")
	refusedWith(t, err, http.StatusMethodNotAllowed, `Required status check "ci" is expected.`)

	// "ci" has no App pinned: any App's run counts.
	_, err = f.sim.CreateCheckRunAs(GitHubActions, testRepo, OtherCheckRun{Name: "ci", HeadSHA: head, Conclusion: "skipped"})
	must(t, err)
	pr, _, err = f.client.PullRequests.Get(f.ctx, "acme", "deploy", n)
	must(t, err)
	if pr.GetMergeableState() == "blocked" {
		t.Error("mergeable_state is blocked with every required check passing")
	}
	res, _, err := f.client.PullRequests.Merge(f.ctx, "acme", "deploy", n, "", nil)
	if err != nil || !res.GetMerged() {
		t.Fatalf("merge with every required check passing: %v", err)
	}

	// Runs list the other App as their source.
	runs, _, err := f.client.Checks.ListCheckRunsForRef(f.ctx, "acme", "deploy", head, &github.ListCheckRunsOptions{CheckName: github.String("ci")})
	must(t, err)
	if len(runs.CheckRuns) != 1 || runs.CheckRuns[0].GetApp().GetID() != GitHubActions.ID {
		t.Errorf("ci runs: %v", runs.CheckRuns)
	}
}

// A merge queue: two pull requests merged onto a temporary branch, checks
// asked for its head with GitHub's payload, the branch fast-forwarded there
// once the required checks pass, each pull request merged by its commit.
func TestMergeQueue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := f.openPR(t, "a", map[string]string{"apps/a.yaml": "a: 1\n"})
	b := f.openPR(t, "b", map[string]string{"apps/b.yaml": "b: 1\n"})
	base := f.sim.Head(testRepo, "main")
	must(t, f.sim.SetRequiredChecks(testRepo, "main", []RequiredCheck{{Context: "plan", AppID: f.sim.AppID()}}))

	// Pull requests enter the queue only with their own checks passing.
	_, err := f.sim.QueueMerge(testRepo, a, b)
	refusedWith(t, err, http.StatusMethodNotAllowed, `Required status check "plan" is expected.`)
	for _, n := range []int{a, b} {
		f.completeRun(t, f.sim.PR(testRepo, n).GetHead().GetSHA(), "plan", "success")
	}
	g, err := f.sim.QueueMerge(testRepo, a, b)
	must(t, err)
	wantRef := "refs/heads/gh-readonly-queue/main/pr-" + itoa(b) + "-" + base
	if g.HeadRef != wantRef || g.BaseRef != "refs/heads/main" || g.BaseSHA != base || len(g.Commits) != 2 || g.Commits[1] != g.HeadSHA {
		t.Fatalf("merge group %+v, want head ref %s on %s", g, wantRef, base)
	}
	if f.sim.Head(testRepo, "gh-readonly-queue/main/pr-"+itoa(b)+"-"+base) != g.HeadSHA {
		t.Error("the group's branch does not point at its head")
	}
	for _, file := range []string{"apps/a.yaml", "apps/b.yaml"} {
		if _, ok := f.sim.File(testRepo, g.HeadSHA, file); !ok {
			t.Errorf("the group's head lacks %s", file)
		}
	}

	ev := f.hooks.last(t, "merge_group")
	mg, ok := ev.Payload.(*github.MergeGroupEvent)
	if !ok || mg.GetAction() != "checks_requested" || mg.GetMergeGroup().GetHeadSHA() != g.HeadSHA || mg.GetMergeGroup().GetBaseSHA() != base ||
		mg.GetMergeGroup().GetHeadRef() != wantRef || mg.GetMergeGroup().GetBaseRef() != "refs/heads/main" ||
		mg.GetRepo().GetFullName() != testRepo || mg.GetInstallation().GetID() != f.inst || mg.GetSender().GetLogin() != "alice" {
		t.Fatalf("merge_group payload: %s", ev.Raw)
	}
	// The keys of @octokit/webhooks-examples' merge_group.checks_requested.
	var raw map[string]json.RawMessage
	must(t, json.Unmarshal(ev.Raw, &raw))
	var group, commit map[string]json.RawMessage
	must(t, json.Unmarshal(raw["merge_group"], &group))
	must(t, json.Unmarshal(group["head_commit"], &commit))
	for what, keys := range map[string][]string{
		"payload":                 slices.Sorted(maps.Keys(raw)),
		"merge_group":             slices.Sorted(maps.Keys(group)),
		"merge_group.head_commit": slices.Sorted(maps.Keys(commit)),
	} {
		want := map[string]string{
			"payload":                 "action installation merge_group organization repository sender",
			"merge_group":             "base_ref base_sha head_commit head_ref head_sha",
			"merge_group.head_commit": "author committer id message timestamp tree_id",
		}[what]
		if got := strings.Join(keys, " "); got != want {
			t.Errorf("%s keys: %s, want %s", what, got, want)
		}
	}

	// The group lands only once its head passes.
	_, err = f.sim.CompleteMergeQueue(testRepo, "")
	refusedWith(t, err, http.StatusMethodNotAllowed, `Required status check "plan" is expected.`)
	if f.sim.Head(testRepo, "main") != base {
		t.Fatal("main moved under a failing merge group")
	}
	f.completeRun(t, g.HeadSHA, "plan", "success")
	head, err := f.sim.CompleteMergeQueue(testRepo, "")
	must(t, err)
	if head != g.HeadSHA || f.sim.Head(testRepo, "main") != g.HeadSHA {
		t.Fatalf("main at %s after the queue, want the group's head %s", f.sim.Head(testRepo, "main"), g.HeadSHA)
	}
	if f.sim.Head(testRepo, strings.TrimPrefix(g.HeadRef, "refs/heads/")) != "" {
		t.Error("the group's branch outlived the merge")
	}
	for i, n := range []int{a, b} {
		pr := f.sim.PR(testRepo, n)
		if !pr.GetMerged() || pr.GetMergeCommitSHA() != g.Commits[i] || pr.GetMergedBy().GetLogin() != mergeQueueBot {
			t.Errorf("#%d after the queue: merged %v at %s by %s, want %s", n, pr.GetMerged(), pr.GetMergeCommitSHA(), pr.GetMergedBy().GetLogin(), g.Commits[i])
		}
	}
	var closed []int
	var pushed bool
	for _, e := range f.hooks.events() {
		switch p := e.Payload.(type) {
		case *github.PullRequestEvent:
			if p.GetAction() == "closed" && p.GetPullRequest().GetMerged() {
				closed = append(closed, p.GetNumber())
			}
		case *github.PushEvent:
			pushed = pushed || (p.GetRef() == "refs/heads/main" && p.GetBefore() == base && p.GetAfter() == g.HeadSHA)
		}
	}
	if !slices.Equal(closed, []int{a, b}) || !pushed {
		t.Errorf("webhooks after the queue: closed+merged %v, push of main %v", closed, pushed)
	}
	if last := f.hooks.last(t, "merge_group").Payload.(*github.MergeGroupEvent); last.GetAction() != "destroyed" {
		t.Errorf("last merge_group action %q, want destroyed", last.GetAction())
	}
}
