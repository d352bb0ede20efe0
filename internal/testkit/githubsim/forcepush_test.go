package githubsim

import (
	"net/http"
	"testing"

	"github.com/google/go-github/v60/github"
)

// A force-push replaces the branch with a commit that does not descend
// from its old head: push says forced, synchronize carries the old head as
// before, and the pull request's head moves to the new commit.
func TestForcePushRewritesTheBranch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "first"})
	old := f.push(t, "feature", map[string]string{"a.txt": "second"})
	sha, err := f.sim.ForcePush("acme/deploy", "feature", "", map[string]string{"a.txt": "rewritten"}, "rewrite", "bob")
	must(t, err)
	if f.sim.IsAncestor("acme/deploy", old, sha) {
		t.Fatalf("the rewritten head %s descends from the old one %s", sha, old)
	}
	evs := f.hooks.events()
	push := evs[len(evs)-2].Payload.(*github.PushEvent)
	if !push.GetForced() || push.GetBefore() != old || push.GetAfter() != sha {
		t.Errorf("push event: forced %v before %s after %s", push.GetForced(), push.GetBefore(), push.GetAfter())
	}
	sync := f.hooks.last(t, "pull_request").Payload.(*github.PullRequestEvent)
	if sync.GetAction() != "synchronize" || sync.GetBefore() != old || sync.GetAfter() != sha {
		t.Errorf("synchronize: %s before %s after %s", sync.GetAction(), sync.GetBefore(), sync.GetAfter())
	}
	if got := f.sim.PR("acme/deploy", n).GetHead().GetSHA(); got != sha {
		t.Errorf("pull request head %s, want %s", got, sha)
	}
	if content, _ := f.sim.File("acme/deploy", "feature", "a.txt"); content != "rewritten" {
		t.Errorf("a.txt on feature: %q", content)
	}
	if _, err := f.sim.ForcePush("acme/deploy", "main", "", map[string]string{"a.txt": "x"}, "", "bob"); err == nil {
		t.Error("force-pushing the default branch was allowed")
	}
}

// ClearFaults ends an outage: nothing armed is left.
func TestClearFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	must(t, f.sim.InjectFault(ServerError("", "", 502)))
	f.sim.ClearFaults()
	if n := f.sim.PendingFaults(); n != 0 {
		t.Errorf("%d faults pending after ClearFaults", n)
	}
}

// Options.RateLimit is the quota an installation's calls report.
func TestRateLimitOption(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Dir: t.TempDir(), RateLimit: 15000})
	must(t, err)
	t.Cleanup(s.Close)
	inst, err := s.CreateInstallation("acme")
	must(t, err)
	_, err = s.CreateRepo(inst, "acme/deploy", map[string]string{"a.txt": "a"})
	must(t, err)
	tok, _, err := s.Token(inst)
	must(t, err)
	req, _ := http.NewRequest(http.MethodGet, s.V3URL()+"repos/acme/deploy", nil)
	req.Header.Set("Authorization", "token "+tok)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if got := res.Header.Get("X-RateLimit-Limit"); got != "15000" || res.Header.Get("X-RateLimit-Remaining") != "14999" {
		t.Errorf("quota headers: limit %s remaining %s, want 15000 and 14999", got, res.Header.Get("X-RateLimit-Remaining"))
	}
}
