package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

func TestPullRequestPlanComment(t *testing.T) {
	w := newWorld(t, 4)
	n := w.openPR("color", "alice", map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"2\"\n"})
	first := w.head(n)

	run := w.completed(first, "slipway/plan: staging")
	if run.GetConclusion() != "success" || !strings.Contains(run.GetOutput().GetTitle(), "+2") {
		t.Errorf("check run %s: %q", run.GetConclusion(), run.GetOutput().GetTitle())
	}
	if !strings.HasPrefix(run.GetExternalID(), "sha256:") {
		t.Errorf("external_id %q is not the plan digest", run.GetExternalID())
	}
	w.eventually("the sticky comment", func() bool { return len(w.stickyComments(n)) == 1 })
	body := w.stickyComments(n)[0].GetBody()
	for _, want := range []string{first[:7], "staging", "staging-only", `"n": "2"`} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	// Production, which the pull request does not touch, is not planned:
	// its checks are neutral, so branch protection may require them.
	if runs := w.checkRuns(first, "slipway/plan: production"); len(runs) != 1 || runs[0].GetConclusion() != "neutral" || runs[0].GetExternalID() != "" {
		t.Errorf("production planned, but the pull request does not touch it: %v", runs)
	}

	second, err := w.sim.Push(w.repo, "color", map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"3\"\n"}, "again", "alice")
	if err != nil {
		t.Fatal(err)
	}
	w.completed(second, "slipway/plan: staging")
	w.eventually("the comment to describe the new head", func() bool {
		c := w.stickyComments(n)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), second[:7])
	})
	if c := w.stickyComments(n); len(c) != 1 || !strings.Contains(c[0].GetBody(), `"n": "3"`) {
		t.Errorf("after the second push: %d comments", len(c))
	}
}

func TestAffectedEnvironments(t *testing.T) {
	w := newWorld(t, 4)

	shared := w.openPR("base", "alice", map[string]string{"deploy/base/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\ndata:\n  color: green\n"})
	for _, env := range []string{"staging", "production"} {
		if run := w.completed(w.head(shared), "slipway/plan: "+env); run.GetConclusion() != "success" {
			t.Errorf("%s: %s", env, run.GetConclusion())
		}
	}

	readme := w.openPR("docs", "alice", map[string]string{"README.md": "the shop\n"})
	w.eventually("the no-environments note", func() bool {
		c := w.stickyComments(readme)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "No environments affected")
	})
	// Nothing is planned: every environment's checks are neutral.
	w.completed(w.head(readme), "slipway/policy: production")
	var names []string
	for _, r := range w.checkRuns(w.head(readme), "") {
		names = append(names, r.GetName())
		if r.GetConclusion() != "neutral" || r.GetOutput().GetTitle() != "not affected by this pull request" {
			t.Errorf("%s: %s %q for a pull request that affects nothing", r.GetName(), r.GetConclusion(), r.GetOutput().GetTitle())
		}
	}
	if slices.Sort(names); strings.Join(names, ",") != "slipway/plan: production,slipway/plan: staging,slipway/policy: production,slipway/policy: staging" {
		t.Errorf("check runs %v for a pull request that affects nothing, want plan and policy of each environment", names)
	}
}

func TestCommands(t *testing.T) {
	w := newWorld(t, 4)
	n := w.openPR("cmds", "alice", map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"9\"\n"})
	w.completed(w.head(n), "slipway/plan: staging")

	tests := []struct {
		name, user, body, want string
	}{
		{"reader may not plan", "rita", "/plan production", "needs write permission"},
		{"typo gets a suggestion", "alice", "/plna", "did you mean `/plan`"},
		{"unknown environment", "alice", "/plan prodution", "did you mean `production`"},
		{"help lists environments", "alice", "/help", "production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.replies(n))
			id, err := w.sim.Comment(w.repo, n, tt.user, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			w.eventually("a reply", func() bool { return len(w.replies(n)) > before })
			if got := w.replies(n)[before]; !strings.Contains(got, tt.want) {
				t.Errorf("reply %q lacks %q", got, tt.want)
			}
			if r := w.sim.Reactions(w.repo, id); len(r) != 1 || r[0].GetContent() != "eyes" {
				t.Errorf("reactions %v, want one 👀", r)
			}
		})
	}

	t.Run("plan command by a writer plans the named environment", func(t *testing.T) {
		if _, err := w.sim.Comment(w.repo, n, "bob", "/plan production"); err != nil {
			t.Fatal(err)
		}
		w.completed(w.head(n), "slipway/plan: production")
	})

	t.Run("comments by bots and non-commands trigger nothing", func(t *testing.T) {
		w.sim.SetUserType("deploy-bot", "Bot")
		before := len(w.sim.Comments(w.repo, n))
		for _, c := range []struct{ user, body string }{{"deploy-bot", "/plan"}, {"alice", "looks good to me"}, {"alice", "> /plan quoted"}} {
			id, err := w.sim.Comment(w.repo, n, c.user, c.body)
			if err != nil {
				t.Fatal(err)
			}
			w.sim.Flush()
			if r := w.sim.Reactions(w.repo, id); len(r) != 0 {
				t.Errorf("%s's %q got reactions", c.user, c.body)
			}
		}
		// slipway's own comments arrive as webhooks too; none is answered.
		if got := len(w.sim.Comments(w.repo, n)); got != before+3 {
			t.Errorf("%d new comments, want only the 3 written", got-before)
		}
	})
}

func TestLocks(t *testing.T) {
	w := newWorld(t, 4)
	change := func(v string) map[string]string {
		return map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"" + v + "\"\n"}
	}
	pr1 := w.openPR("one", "alice", change("5"))
	w.completed(w.head(pr1), "slipway/plan: staging")
	w.eventually("#1's lock note", func() bool {
		c := w.stickyComments(pr1)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "now holds the `staging` lock")
	})

	pr2 := w.openPR("two", "bob", change("6"))
	run := w.completed(w.head(pr2), "slipway/plan: staging")
	if !strings.Contains(run.GetOutput().GetTitle(), "locked") {
		t.Errorf("check run title %q does not say locked", run.GetOutput().GetTitle())
	}
	w.eventually("#2 told of #1's lock", func() bool {
		c := w.stickyComments(pr2)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), fmt.Sprintf("locked by #%d", pr1))
	})

	if err := w.sim.ClosePR(w.repo, pr1, "alice"); err != nil {
		t.Fatal(err)
	}
	w.eventually("#1's plan marked stale", func() bool {
		c := w.stickyComments(pr1)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "is closed")
	})
	if _, err := w.sim.Comment(w.repo, pr2, "bob", "/plan staging"); err != nil {
		t.Fatal(err)
	}
	w.eventually("#2 takes the lock", func() bool {
		c := w.stickyComments(pr2)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "now holds the `staging` lock")
	})

	// #2 closes while its `closed` webhook is lost (the resync, every 5m
	// here, has not come by): `/unlock` on the closed pull request still
	// releases its lock.
	hook := w.sim.WebhookURL()
	w.sim.SetWebhookURL("http://127.0.0.1:1" + WebhookPath) // nothing listens there
	err := w.sim.ClosePR(w.repo, pr2, "bob")
	w.sim.SetWebhookURL(hook)
	var lost *githubsim.DeliveryError
	if !errors.As(err, &lost) {
		t.Fatalf("the close's webhook was not lost: %v", err)
	}
	if got := w.lockHolder("staging"); got != pr2 {
		t.Fatalf("staging is held by #%d before the /unlock, want #%d", got, pr2)
	}
	w.command(pr2, "bob", "/unlock")
	w.reply(pr2, "Released the lock on `staging`.")
	if got := w.lockHolder("staging"); got != 0 {
		t.Errorf("staging is held by #%d after /unlock on closed #%d", got, pr2)
	}
}

func TestBrokenInputsFailChecksReadably(t *testing.T) {
	w := newWorld(t, 4)

	t.Run("invalid manifest in the pull request", func(t *testing.T) {
		n := w.openPR("bad-yaml", "alice", map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [\n"})
		run := w.completed(w.head(n), "slipway/plan: staging")
		if run.GetConclusion() != "failure" {
			t.Errorf("conclusion %s", run.GetConclusion())
		}
		anns := w.sim.CheckRunAnnotations(run.GetID())
		if len(anns) == 0 || anns[0].GetPath() != "deploy/staging/extra.yaml" {
			t.Errorf("annotations %s, want one on deploy/staging/extra.yaml", github.Stringify(anns))
		}
	})

	t.Run("invalid .slipway.yaml on the default branch", func(t *testing.T) {
		if _, err := w.sim.Push(w.repo, "main", map[string]string{".slipway.yaml": "version: 1\nenvironments:\n  - name: staging\n    path: deploy/staging\n    clustr: test\n"}, "break config", "alice"); err != nil {
			t.Fatal(err)
		}
		n := w.openPR("after-break", "alice", map[string]string{"deploy/staging/extra.yaml": "kind: ConfigMap\n"})
		run := w.completed(w.head(n), "slipway/plan")
		if run.GetConclusion() != "failure" || !strings.Contains(run.GetOutput().GetSummary(), "clustr") {
			t.Errorf("config check: %s %q", run.GetConclusion(), run.GetOutput().GetSummary())
		}
		anns := w.sim.CheckRunAnnotations(run.GetID())
		if len(anns) == 0 || anns[0].GetPath() != ".slipway.yaml" || anns[0].GetStartLine() != 5 {
			t.Errorf("annotations %v, want .slipway.yaml line 5", anns)
		}
	})

	if code := get(w.sim.URL()); code == 0 {
		t.Log("sim reachable")
	}
	if !w.srv.ready.serving.Load() {
		t.Error("server stopped serving")
	}
}

func TestRerequestAndReviewHooks(t *testing.T) {
	w := newWorld(t, 4)
	n := w.openPR("rerun", "alice", map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"7\"\n"})
	head := w.head(n)
	first := w.completed(head, "slipway/plan: staging")

	if err := w.sim.RerequestCheckRun(w.repo, first.GetID(), "alice"); err != nil {
		t.Fatal(err)
	}
	w.eventually("a second staging plan on the same head", func() bool {
		done := 0
		for _, cr := range w.checkRuns(head, "slipway/plan: staging") {
			if cr.GetStatus() == "completed" {
				done++
			}
		}
		return done == 2
	})

	if _, err := w.sim.Review(w.repo, n, "bob", "APPROVED"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the review handled", func() bool { return handledCount(t, w.srv, "pull_request_review", "ok") == 1 })
}
