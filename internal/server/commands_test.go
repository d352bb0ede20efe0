package server

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// hold is how long a slow GitHub answer holds slipway mid-job in these
// tests: long enough for the arrivals to be handled meanwhile. (A rate
// limit would hold every call of the installation, the arrivals' too.)
const hold = 12 * time.Second

// handled waits until every webhook GitHub sent so far was handled: each
// handler has returned, so whatever it queued is in the run queue.
func (w *world) handled() {
	w.t.Helper()
	w.sim.Flush()
	m := w.srv.Metrics()
	w.eventually("every delivery handled", func() bool {
		return testutil.ToFloat64(m.Running) == 0 && testutil.ToFloat64(m.QueueDepth) == 0
	})
}

// locks are the environments some pull request of w.repo holds a lock on.
func (w *world) locks() []string {
	w.t.Helper()
	held, err := w.srv.deps.Runner.Locks.List(context.Background(), w.repo)
	if err != nil {
		w.t.Fatal(err)
	}
	var envs []string
	for env := range held {
		envs = append(envs, env)
	}
	return envs
}

// An apply, once started, runs to its end: a reader's /plan and a push
// arriving while /apply staging is held mid-way (GitHub is slow to take
// its first Deployment status) leave it untouched, and the push's plan runs
// after it. A reader's commands never reach the run queue: a reader's
// /apply during a running plan does not cut it short, and the reader gets
// one reply to all their commands.
func TestCommandsDoNotCutAnApplyShort(t *testing.T) {
	w := newWorldWith(t, 4, (*world).beforeMergeFiles)
	w.patience = 3 * time.Minute
	pr := w.openPR("slow", "alice", map[string]string{"deploy/staging/extra.yaml": configMapYAML("extra", "1")})
	t.Cleanup(func() { w.logConversation(pr) })
	w.completed(w.head(pr), "slipway/plan: staging")
	w.approve(pr, "bob")
	w.policiesDone(pr, "staging")

	if err := w.sim.InjectFault(githubsim.Slow("POST", `/deployments/\d+/statuses$`, hold)); err != nil {
		t.Fatal(err)
	}
	w.command(pr, "alice", "/apply staging")
	w.eventually("the apply held by a slow GitHub", func() bool {
		return len(w.deployments("staging")) == 1 && w.sim.PendingFaults() == 0
	})
	w.command(pr, "rita", "/plan staging")
	w.command(pr, "rita", "/apply staging")
	pushed, err := w.sim.Push(w.repo, "slow", map[string]string{"deploy/staging/extra.yaml": configMapYAML("extra", "2")}, "second", "alice")
	if err != nil {
		t.Fatal(err)
	}
	w.handled()
	if d := w.deployments("staging"); slices.Contains(d[0].states, "success") {
		t.Fatal("the apply was done before the commands and the push were handled: this test proves nothing; raise hold")
	}

	recs := w.settled("staging", 1)
	if got := strings.Join(recs[0].states, ","); got != "in_progress,success" {
		t.Errorf("the apply's Deployment: %s (%s), want in_progress,success", got, recs[0].last.GetDescription())
	}
	if cm := w.configMap(w.staging, "extra"); cm == nil || cm.Data["value"] != "1" {
		t.Errorf("the reviewed ConfigMap was not applied: %v", cm)
	}
	// The push waited behind the apply, then planned its head.
	if run := w.completed(pushed, "slipway/plan: staging"); run.GetConclusion() != "success" {
		t.Errorf("the push's plan: %s %q", run.GetConclusion(), run.GetOutput().GetTitle())
	}
	w.completed(pushed, "slipway/policy: staging")

	// A plan held mid-way (GitHub is slow to take its completion) is not cut
	// short by a reader's /apply: it never reaches the queue.
	if err := w.sim.InjectFault(githubsim.Slow("PATCH", `/check-runs/\d+$`, hold)); err != nil {
		t.Fatal(err)
	}
	third, err := w.sim.Push(w.repo, "slow", map[string]string{"deploy/staging/extra.yaml": configMapYAML("extra", "3")}, "third", "alice")
	if err != nil {
		t.Fatal(err)
	}
	w.eventually("the plan of the third commit held by a slow GitHub", func() bool {
		runs := w.checkRuns(third, "slipway/plan: staging")
		return len(runs) == 1 && runs[0].GetStatus() == "in_progress" && w.sim.PendingFaults() == 0
	})
	w.command(pr, "rita", "/apply staging")
	w.handled()
	if runs := w.checkRuns(third, "slipway/plan: staging"); runs[0].GetConclusion() == "success" {
		t.Fatal("the plan was done before the reader's /apply was handled: this test proves nothing; raise hold")
	}
	if run := w.completed(third, "slipway/plan: staging"); run.GetConclusion() != "success" {
		t.Errorf("the plan held while a reader commented /apply: %s %q, want success", run.GetConclusion(), run.GetOutput().GetTitle())
	}

	var toRita []string
	for _, r := range w.replies(pr) {
		if strings.Contains(r, "@rita") {
			toRita = append(toRita, r)
		}
	}
	if len(toRita) != 1 || !strings.Contains(toRita[0], "needs write") { // whichever command was handled first
		t.Errorf("replies to rita's three commands: %q, want one saying she needs write permission", toRita)
	}
	if n := len(w.deployments("staging")); n != 1 {
		t.Errorf("%d Deployments of staging, want the one /apply", n)
	}
}

// A pull request from a fork is not planned by itself and takes no lock:
// it gets a note saying a writer can /plan it. An outsider's /plan does
// nothing; a writer's /plan plans it, still without a lock; /apply stays
// refused, whoever asks, and nothing reaches the cluster.
func TestForkPullRequest(t *testing.T) {
	w := newWorldWith(t, 2, (*world).beforeMergeFiles)
	if _, err := w.sim.Push(w.repo, "evil", map[string]string{"deploy/staging/pwn.yaml": configMapYAML("pwn", "x")}, "pwn", "mallory"); err != nil {
		t.Fatal(err)
	}
	pr, err := w.sim.OpenPRWith(w.repo, githubsim.PROptions{Head: "evil", User: "mallory", Fork: "mallory", Title: "Harmless"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.logConversation(pr) })
	head := w.head(pr)
	w.eventually("the fork note", func() bool {
		c := w.stickyComments(pr)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "comes from the fork mallory/shop") && strings.Contains(c[0].GetBody(), "slipway plan for "+head[:7])
	})
	if runs := w.checkRuns(head, ""); len(runs) != 0 {
		t.Errorf("%d check runs on a fork's head nobody asked to plan", len(runs))
	}
	if held := w.locks(); len(held) != 0 {
		t.Errorf("locks %v after a fork's pull request opened", held)
	}

	w.command(pr, "mallory", "/plan")
	w.reply(pr, "`/plan` needs write permission on acme/shop; @mallory has none")
	w.command(pr, "alice", "/plan")
	if run := w.completed(head, "slipway/plan: staging"); run.GetConclusion() != "success" || run.GetExternalID() == "" {
		t.Errorf("the writer's /plan: %s %q", run.GetConclusion(), run.GetOutput().GetTitle())
	}
	w.eventually("the plan in the sticky comment", func() bool {
		c := w.stickyComments(pr)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "pwn") && strings.Contains(c[0].GetBody(), "does not take the `staging` lock")
	})
	if held := w.locks(); len(held) != 0 {
		t.Errorf("locks %v after a writer planned a fork's pull request", held)
	}

	w.approve(pr, "bob")
	w.command(pr, "alice", "/apply staging")
	refusal := w.reply(pr, "@alice `/apply` refused")
	if !strings.Contains(refusal, "comes from the fork mallory/shop") {
		t.Errorf("refusal does not give the reason: %s", refusal)
	}
	if w.configMap(w.staging, "pwn") != nil || len(w.deployments("staging")) != 0 {
		t.Error("a fork's pull request was applied")
	}
}
