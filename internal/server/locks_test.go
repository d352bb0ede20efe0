package server

// Environment locks that mean something and never stick: another pull
// request's lock fails an on-merge environment's policy, an admin can
// force it free, and a lock whose pull request closed unseen is released
// by the resync.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// lockHolder is the pull request holding env's lock in the server's store
// (0: none).
func (w *world) lockHolder(env string) int {
	w.t.Helper()
	h, err := w.srv.deps.Runner.Locks.Holder(context.Background(), lock.Key{Repo: w.repo, Env: env})
	if err != nil {
		w.t.Fatal(err)
	}
	if h == nil {
		return 0
	}
	return h.PR
}

// latestPolicy is the newest slipway/policy: env run on n's head, or nil.
func (w *world) latestPolicy(n int, env string) *github.CheckRun {
	runs := w.checkRuns(w.head(n), "slipway/policy: "+env)
	if len(runs) == 0 {
		return nil
	}
	return runs[len(runs)-1]
}

// productionChange is a pull request's change to production alone.
func (w *world) productionChange(name string) map[string]string {
	return map[string]string{
		"deploy/production/kustomization.yaml": fmt.Sprintf("namespace: %s\nresources: [../base, %s.yaml]\n", w.prod, name),
		"deploy/production/" + name + ".yaml":  configMapYAML(name, "1"),
	}
}

func TestLockBlocksMergeUntilForcedOrClosed(t *testing.T) {
	w := newWorldWith(t, 4, (*world).shopFiles, func(c *config.Config) { c.Server.ResyncInterval = config.Duration(time.Second) })
	w.patience = 2 * time.Minute
	if err := w.sim.SetPermission(w.repo, "carol", "admin"); err != nil {
		t.Fatal(err)
	}

	// #1 plans production (on-merge, lock: on-plan) and holds its lock.
	pr1 := w.openPR("first", "alice", w.productionChange("first"))
	w.completed(w.head(pr1), "slipway/plan: production")
	w.eventually("#1's lock note", func() bool {
		c := w.stickyComments(pr1)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "now holds the `production` lock")
	})
	if got := w.lockHolder("production"); got != pr1 {
		t.Fatalf("production is held by #%d, want #%d", got, pr1)
	}

	// #2 changes production too: its policy fails, naming #1, so branch
	// protection keeps it from merging over #1's plan.
	pr2 := w.openPR("second", "bob", w.productionChange("second"))
	locked := fmt.Sprintf("production is locked by #%d", pr1)
	w.eventually("#2's policy fails on #1's lock", func() bool {
		r := w.latestPolicy(pr2, "production")
		return r != nil && r.GetConclusion() == "failure" && strings.HasPrefix(r.GetOutput().GetTitle(), locked)
	})
	w.eventually("#2's plan says what the lock means", func() bool {
		c := w.stickyComments(pr2)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), fmt.Sprintf("`production` is locked by #%d", pr1)) &&
			strings.Contains(c[0].GetBody(), "`slipway/policy: production` fails until")
	})

	// A writer may not force another pull request's lock free.
	w.command(pr2, "bob", "/unlock production --force")
	w.reply(pr2, "@bob `/unlock --force` refused, no lock was released: only admins of this repository may")
	if got := w.lockHolder("production"); got != pr1 {
		t.Errorf("after bob's refused force production is held by #%d, want #%d", got, pr1)
	}

	// An admin may; both pull requests are told.
	w.command(pr2, "carol", "/unlock production --force")
	forced := fmt.Sprintf("@carol force-released the `production` lock held by #%d", pr1)
	w.reply(pr2, forced)
	w.reply(pr1, forced+fmt.Sprintf(" (from #%d)", pr2))
	if got := w.lockHolder("production"); got != 0 {
		t.Errorf("after carol's force production is held by #%d, want nobody", got)
	}

	// #2's next plan takes the lock, and its policy passes the lock item.
	w.command(pr2, "bob", "/plan production")
	w.eventually("#2's policy passes, holding the lock", func() bool {
		r := w.latestPolicy(pr2, "production")
		return r != nil && r.GetConclusion() == "success" && strings.Contains(r.GetOutput().GetSummary(), "this pull request holds the production lock")
	})
	if got := w.lockHolder("production"); got != pr2 {
		t.Errorf("production is held by #%d, want #%d", got, pr2)
	}

	// #2 closes while its `closed` webhook is lost: the resync releases
	// its lock all the same.
	hook := w.sim.WebhookURL()
	w.sim.SetWebhookURL("http://127.0.0.1:1" + WebhookPath) // nothing listens there
	err := w.sim.ClosePR(w.repo, pr2, "bob")
	w.sim.SetWebhookURL(hook)
	var lost *githubsim.DeliveryError
	if !errors.As(err, &lost) {
		t.Fatalf("the close's webhook was not lost: %v", err)
	}
	w.eventually("the resync releases closed #2's lock", func() bool { return w.lockHolder("production") == 0 })
	w.eventually("#2's plan marked stale", func() bool {
		c := w.stickyComments(pr2)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "is closed")
	})
}
