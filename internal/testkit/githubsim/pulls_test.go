package githubsim

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestPullRequestGetAndFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"keep.txt": "a\nb\n", "gone.txt": "bye\n", "old/name.yaml": "same content here\nline2\nline3\n"})
	files := map[string]string{
		"keep.txt":      "a\nB\nc\n",
		"gone.txt":      Deleted,
		"old/name.yaml": Deleted,
		"new/name.yaml": "same content here\nline2\nline3\n",
	}
	for i := range 45 {
		files[fmt.Sprintf("gen/file-%02d.yaml", i)] = fmt.Sprintf("n: %d\n", i)
	}
	n := f.openPR(t, "many", files)

	pr, _, err := f.client.PullRequests.Get(f.ctx, "acme", "deploy", n)
	must(t, err)
	if pr.GetState() != "open" || pr.GetMerged() || !pr.GetMergeable() || pr.GetMergeableState() != "clean" ||
		pr.GetHead().GetRef() != "many" || pr.GetBase().GetRef() != "main" || pr.GetUser().GetLogin() != "alice" ||
		pr.GetChangedFiles() != 48 || pr.GetHTMLURL() != f.sim.URL()+"/acme/deploy/pull/1" {
		t.Errorf("unexpected PR: %s", pr)
	}

	var all []*github.CommitFile
	opts := &github.ListOptions{PerPage: 20}
	pages := 0
	for {
		page, resp, err := f.client.PullRequests.ListFiles(f.ctx, "acme", "deploy", n, opts)
		must(t, err)
		pages++
		all = append(all, page...)
		if resp.NextPage == 0 {
			if resp.LastPage != 0 {
				t.Errorf("last page has rel=last %d", resp.LastPage)
			}
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 3 || len(all) != 48 {
		t.Fatalf("%d files over %d pages, want 48 over 3", len(all), pages)
	}
	byName := map[string]*github.CommitFile{}
	for _, cf := range all {
		byName[cf.GetFilename()] = cf
	}
	tests := []struct {
		name, status, previous string
		additions, deletions   int
	}{
		{"keep.txt", "modified", "", 2, 1},
		{"gone.txt", "removed", "", 0, 1},
		{"new/name.yaml", "renamed", "old/name.yaml", 0, 0},
		{"gen/file-07.yaml", "added", "", 1, 0},
	}
	for _, tt := range tests {
		cf := byName[tt.name]
		if cf == nil {
			t.Errorf("%s missing", tt.name)
			continue
		}
		if cf.GetStatus() != tt.status || cf.GetPreviousFilename() != tt.previous || cf.GetAdditions() != tt.additions ||
			cf.GetDeletions() != tt.deletions || cf.GetChanges() != tt.additions+tt.deletions {
			t.Errorf("%s = %s", tt.name, cf)
		}
	}
	if p := byName["keep.txt"].GetPatch(); !strings.HasPrefix(p, "@@") || !strings.Contains(p, "+B") {
		t.Errorf("patch = %q", p)
	}
}

func TestListPullsPaginatesNewestFirst(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for i := range 5 {
		f.openPR(t, fmt.Sprintf("b%d", i), map[string]string{fmt.Sprintf("f%d", i): "x"})
	}
	must(t, f.sim.ClosePR(testRepo, 2, "alice"))
	var numbers []int
	opts := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 2}}
	for {
		prs, resp, err := f.client.PullRequests.List(f.ctx, "acme", "deploy", opts)
		must(t, err)
		for _, p := range prs {
			numbers = append(numbers, p.GetNumber())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if !slices.Equal(numbers, []int{5, 4, 3, 1}) {
		t.Errorf("open PRs = %v, want [5 4 3 1]", numbers)
	}
	closed, _, err := f.client.PullRequests.List(f.ctx, "acme", "deploy", &github.PullRequestListOptions{State: "closed"})
	must(t, err)
	if len(closed) != 1 || closed[0].GetNumber() != 2 {
		t.Errorf("closed = %v", closed)
	}
}

func TestPushSynchronizesAndConflictsShow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"apps/web/deployment.yaml": "replicas: 2\n"})
	sha := f.push(t, "feature", map[string]string{"extra.txt": "more"})
	sync := f.hooks.last(t, "pull_request").Payload.(*github.PullRequestEvent)
	if sync.GetAction() != "synchronize" || sync.GetAfter() != sha || sync.GetPullRequest().GetHead().GetSHA() != sha {
		t.Errorf("synchronize event: %+v", sync)
	}
	f.push(t, "main", map[string]string{"apps/web/deployment.yaml": "replicas: 3\n"})
	pr, _, err := f.client.PullRequests.Get(f.ctx, "acme", "deploy", n)
	must(t, err)
	if pr.GetMergeable() || pr.GetMergeableState() != "dirty" {
		t.Errorf("conflicting PR: mergeable %v state %s", pr.GetMergeable(), pr.GetMergeableState())
	}
	if _, _, err := f.client.PullRequests.Merge(f.ctx, "acme", "deploy", n, "", nil); statusOf(err) != 405 {
		t.Errorf("merging a conflicting PR: %v, want 405", err)
	}
}

func TestMergeMakesRealMergeCommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"apps/web/deployment.yaml": "replicas: 2\n"})
	head := f.sim.Head(testRepo, "feature")
	base := f.sim.Head(testRepo, "main")
	f.push(t, "main", map[string]string{"unrelated.txt": "x"}) // so the merge is not a fast-forward
	base2 := f.sim.Head(testRepo, "main")

	sha, err := f.sim.Merge(testRepo, n, "bob")
	must(t, err)
	out, err := exec.Command("git", "-C", f.repo.Dir, "rev-list", "--parents", "-n", "1", sha).Output()
	must(t, err)
	if got := strings.Fields(string(out)); !slices.Equal(got, []string{sha, base2, head}) {
		t.Errorf("merge commit parents %v, want [%s %s %s] (base %s)", got, sha, base2, head, base)
	}
	if content, _ := f.sim.File(testRepo, "main", "apps/web/deployment.yaml"); content != "replicas: 2\n" {
		t.Errorf("main has %q", content)
	}
	pr := f.sim.PR(testRepo, n)
	if !pr.GetMerged() || pr.GetMergeCommitSHA() != sha || pr.GetMergedBy().GetLogin() != "bob" || pr.GetState() != "closed" {
		t.Errorf("merged PR: %s", pr)
	}
	files, _, err := f.client.PullRequests.ListFiles(f.ctx, "acme", "deploy", n, nil)
	must(t, err)
	if len(files) != 1 {
		t.Errorf("a merged PR still lists its own files; got %d", len(files))
	}
	for _, tt := range []struct {
		sha  string
		want int
	}{{sha, 1}, {base2, 0}} {
		prs, _, err := f.client.PullRequests.ListPullRequestsWithCommit(f.ctx, "acme", "deploy", tt.sha, nil)
		must(t, err)
		if len(prs) != tt.want || (tt.want == 1 && (prs[0].GetNumber() != n || prs[0].GetMergeCommitSHA() != sha)) {
			t.Errorf("pull requests with commit %s: %d, want %d", tt.sha[:7], len(prs), tt.want)
		}
	}
	closed := f.hooks.last(t, "pull_request").Payload.(*github.PullRequestEvent)
	push := f.hooks.last(t, "push").Payload.(*github.PushEvent)
	if closed.GetAction() != "closed" || !closed.GetPullRequest().GetMerged() {
		t.Errorf("closed event: %+v", closed)
	}
	if push.GetRef() != "refs/heads/main" || push.GetBefore() != base2 || push.GetAfter() != sha || push.GetHeadCommit().GetID() != sha {
		t.Errorf("push event: %s", push)
	}
}

func TestMergeThroughAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	if _, _, err := f.client.PullRequests.Merge(f.ctx, "acme", "deploy", n, "", &github.PullRequestOptions{SHA: "0123456789012345678901234567890123456789"}); statusOf(err) != 409 {
		t.Fatalf("merge with stale sha: %v, want 409", err)
	}
	res, _, err := f.client.PullRequests.Merge(f.ctx, "acme", "deploy", n, "", &github.PullRequestOptions{MergeMethod: "squash"})
	must(t, err)
	if !res.GetMerged() || res.GetSHA() != f.sim.Head(testRepo, "main") {
		t.Errorf("merge result %+v", res)
	}
	merged, _, err := f.client.PullRequests.IsMerged(f.ctx, "acme", "deploy", n)
	must(t, err)
	if !merged {
		t.Error("IsMerged = false")
	}
	f.sim.Flush()
	closed := f.hooks.last(t, "pull_request").Payload.(*github.PullRequestEvent)
	if closed.GetAction() != "closed" || closed.GetSender().GetLogin() != "slipway[bot]" {
		t.Errorf("closed event from API merge: %+v", closed)
	}
}

func TestReviews(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	if _, err := f.sim.Review(testRepo, n, "alice", "APPROVED"); err == nil {
		t.Error("an author approved their own PR")
	}
	id, err := f.sim.Review(testRepo, n, "bob", "APPROVED")
	must(t, err)
	ev := f.hooks.last(t, "pull_request_review").Payload.(*github.PullRequestReviewEvent)
	if ev.GetAction() != "submitted" || ev.GetReview().GetState() != "approved" || ev.GetReview().GetCommitID() != f.sim.Head(testRepo, "feature") {
		t.Errorf("review event: %+v", ev)
	}
	must(t, f.sim.DismissReview(testRepo, n, id, "carol", "stale"))
	reviews, _, err := f.client.PullRequests.ListReviews(f.ctx, "acme", "deploy", n, nil)
	must(t, err)
	if len(reviews) != 1 || reviews[0].GetState() != "DISMISSED" || reviews[0].GetUser().GetLogin() != "bob" {
		t.Errorf("reviews = %v", reviews)
	}
}

// A pull request from a fork names the fork as its head repository, in the
// API and in its webhook, while its base stays the repository itself.
func TestForkPullRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"a.txt": "a\n"})
	f.push(t, "evil", map[string]string{"a.txt": "b\n"})
	n, err := f.sim.OpenPRWith(testRepo, PROptions{Head: "evil", User: "mallory", Fork: "mallory"})
	must(t, err)
	pr, _, err := f.client.PullRequests.Get(f.ctx, "acme", "deploy", n)
	must(t, err)
	head, base := pr.GetHead(), pr.GetBase()
	if head.GetRepo().GetFullName() != "mallory/deploy" || !head.GetRepo().GetFork() || head.GetLabel() != "mallory:evil" || head.GetUser().GetLogin() != "mallory" {
		t.Errorf("head = %+v", github.Stringify(head))
	}
	if base.GetRepo().GetFullName() != testRepo || base.GetRepo().GetFork() {
		t.Errorf("base = %+v", github.Stringify(base))
	}
	if head.GetRepo().GetID() == base.GetRepo().GetID() {
		t.Error("the fork has the base repository's id")
	}
	evs := f.hooks.events()
	last, ok := evs[len(evs)-1].Payload.(*github.PullRequestEvent)
	if !ok || last.GetPullRequest().GetHead().GetRepo().GetFullName() != "mallory/deploy" {
		t.Errorf("opened event head repo = %v", last.GetPullRequest().GetHead().GetRepo().GetFullName())
	}
}
