package githubsim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestUnsupportedIsRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	if _, _, err := f.client.Issues.ListByRepo(f.ctx, "acme", "deploy", nil); statusOf(err) != 404 {
		t.Errorf("unsupported endpoint: %v", err)
	}
	resp, err := http.Post(f.sim.V4URL(), "application/json", nil)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("graphql: %d", resp.StatusCode)
	}
	// A supported endpoint answering 404 is not "unsupported".
	if _, _, err := f.client.PullRequests.Get(f.ctx, "acme", "deploy", 9); statusOf(err) != 404 {
		t.Errorf("missing PR: %v", err)
	}
	want := []string{"GET /api/v3/repos/acme/deploy/issues", "POST /api/graphql"}
	if got := f.sim.Unsupported(); !slices.Equal(got, want) {
		t.Errorf("Unsupported() = %v, want %v", got, want)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	get := func() error {
		_, _, err := f.client.PullRequests.Get(f.ctx, "acme", "deploy", n)
		return err
	}

	must(t, f.sim.InjectFault(SecondaryRateLimit("GET", `/pulls/\d+$`, 0)))
	var abuse *github.AbuseRateLimitError
	if err := get(); !errors.As(err, &abuse) || abuse.RetryAfter == nil {
		t.Fatalf("first call: %v, want *github.AbuseRateLimitError with RetryAfter", err)
	}
	must(t, get()) // the fault answered once only

	must(t, f.sim.InjectFault(ServerError("", `/pulls/`, http.StatusBadGateway)))
	if err := get(); statusOf(err) != 502 {
		t.Errorf("server error fault: %v", err)
	}

	must(t, f.sim.InjectFault(PrimaryRateLimit("GET", `/pulls/`, time.Now())))
	var rl *github.RateLimitError
	if err := get(); !errors.As(err, &rl) {
		t.Errorf("primary rate limit: %v, want *github.RateLimitError", err)
	}
	if f.sim.PendingFaults() != 0 {
		t.Errorf("%d faults left", f.sim.PendingFaults())
	}
	faulted := 0
	for _, r := range f.sim.Requests() {
		if r.Fault {
			faulted++
		}
	}
	if faulted != 3 {
		t.Errorf("%d requests recorded as faults, want 3", faulted)
	}
}

// A slow answer comes after its delay and takes effect; a client that
// gives up first leaves no trace.
func TestSlowFault(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	comment := func(ctx context.Context, body string) error {
		_, _, err := f.client.Issues.CreateComment(ctx, "acme", "deploy", n, &github.IssueComment{Body: github.String(body)})
		return err
	}

	must(t, f.sim.InjectFault(Slow("POST", `/comments$`, 300*time.Millisecond)))
	start := time.Now()
	must(t, comment(f.ctx, "slow"))
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("the slow call answered in %s", took)
	}
	must(t, f.sim.InjectFault(Slow("POST", `/comments$`, time.Minute)))
	ctx, cancel := context.WithTimeout(f.ctx, 100*time.Millisecond)
	defer cancel()
	if err := comment(ctx, "given up"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the abandoned call: %v", err)
	}
	var bodies []string
	for _, c := range f.sim.Comments("acme/deploy", n) {
		bodies = append(bodies, c.GetBody())
	}
	if !slices.Equal(bodies, []string{"slow"}) {
		t.Errorf("comments %q, want only the slow one that was waited for", bodies)
	}
}

func TestConditionalRequestsAndRateHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	tok, _, err := f.sim.Token(f.inst)
	must(t, err)
	get := func(etag string) *http.Response {
		req, _ := http.NewRequest("GET", f.sim.V3URL()+"repos/acme/deploy", nil)
		req.Header.Set("Authorization", "token "+tok)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp
	}
	first := get("")
	etag := first.Header.Get("ETag")
	for _, h := range []string{"ETag", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-GitHub-Request-Id"} {
		if first.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	// A 304 does not count against the quota, as on GitHub; a 200 does.
	used := func(r *http.Response) string { return r.Header.Get("X-RateLimit-Used") }
	if resp := get(etag); resp.StatusCode != http.StatusNotModified || used(resp) != used(first) {
		t.Errorf("If-None-Match with the current ETag: %d, used %s; want 304, used %s as before it", resp.StatusCode, used(resp), used(first))
	}
	if resp := get(`W/"stale"`); resp.StatusCode != http.StatusOK || used(resp) == used(first) {
		t.Errorf("stale ETag: %d, used %s (%s before it)", resp.StatusCode, used(resp), used(first))
	}
	// As on GitHub, the ETag varies with the token: another token's tag
	// for the same answer is another, and the old one no longer matches.
	tok, _, err = f.sim.Token(f.inst)
	must(t, err)
	if second := get(""); second.Header.Get("ETag") == etag {
		t.Error("the ETag did not change with the token")
	}
	if resp := get(etag); resp.StatusCode != http.StatusOK {
		t.Errorf("the previous token's ETag: %d, want 200", resp.StatusCode)
	}
}

func TestPermissionsAndTeams(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	must(t, f.sim.SetPermission(testRepo, "alice", "admin"))
	must(t, f.sim.SetPermission(testRepo, "bob", "read"))
	f.sim.AddTeamMember("acme", "platform", "bob")
	for _, tt := range []struct{ user, want string }{{"alice", "admin"}, {"bob", "read"}, {"mallory", "none"}} {
		p, _, err := f.client.Repositories.GetPermissionLevel(f.ctx, "acme", "deploy", tt.user)
		must(t, err)
		if p.GetPermission() != tt.want || p.GetUser().GetLogin() != tt.user {
			t.Errorf("%s: %+v, want %s", tt.user, p, tt.want)
		}
	}
	m, _, err := f.client.Teams.GetTeamMembershipBySlug(f.ctx, "acme", "platform", "bob")
	must(t, err)
	if m.GetState() != "active" {
		t.Errorf("membership %+v", m)
	}
	if _, _, err := f.client.Teams.GetTeamMembershipBySlug(f.ctx, "acme", "platform", "alice"); statusOf(err) != 404 {
		t.Errorf("non-member: %v", err)
	}
	f.sim.SetUserType("renovate[bot]", "Bot")
	n := f.openPR(t, "deps", map[string]string{"a": "b"})
	_, err = f.sim.Comment(testRepo, n, "renovate[bot]", "bump")
	must(t, err)
	if c := f.sim.Comments(testRepo, n); len(c) != 1 || c[0].GetUser().GetType() != "Bot" {
		t.Errorf("bot comment %v", c)
	}
}

func TestLostAnswerTakesEffect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "lost", map[string]string{"a.txt": "a"})
	must(t, f.sim.InjectFault(LostAnswer("POST", `/issues/\d+/comments$`, http.StatusBadGateway)))
	_, _, err := f.client.Issues.CreateComment(f.ctx, "acme", "deploy", n, &github.IssueComment{Body: github.String("hello")})
	if statusOf(err) != http.StatusBadGateway {
		t.Fatalf("create comment: %v, want the 502", err)
	}
	if got := f.sim.Comments(testRepo, n); len(got) != 1 || got[0].GetBody() != "hello" {
		t.Fatalf("comments %v, want the one written despite the 502", got)
	}

	// since filters by last update, as GitHub does.
	future := time.Now().Add(time.Hour)
	list, _, err := f.client.Issues.ListComments(f.ctx, "acme", "deploy", n, &github.IssueListCommentsOptions{Since: &future})
	must(t, err)
	if len(list) != 0 {
		t.Errorf("since an hour ahead: %d comments", len(list))
	}
	past := time.Now().Add(-time.Hour)
	list, _, err = f.client.Issues.ListComments(f.ctx, "acme", "deploy", n, &github.IssueListCommentsOptions{Since: &past})
	must(t, err)
	if len(list) != 1 {
		t.Errorf("since an hour ago: %d comments, want 1", len(list))
	}
}
