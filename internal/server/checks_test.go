package server

// Branch protection that requires slipway's checks for every environment,
// and GitHub's merge queue.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// requireEveryEnvironment protects main as the README advises: plan and
// policy of each environment required, from slipway's App.
func (w *world) requireEveryEnvironment(envs ...string) {
	w.t.Helper()
	var checks []githubsim.RequiredCheck
	for _, env := range envs {
		for _, prefix := range []string{"slipway/plan: ", "slipway/policy: "} {
			checks = append(checks, githubsim.RequiredCheck{Context: prefix + env, AppID: w.sim.AppID()})
		}
	}
	if err := w.sim.SetRequiredChecks(w.repo, "main", checks); err != nil {
		w.t.Fatal(err)
	}
}

// planned waits for env's plan and policy at sha and fails unless both
// succeeded, the plan with its digest.
func (w *world) planned(sha, env string) {
	w.t.Helper()
	if run := w.completed(sha, "slipway/plan: "+env); run.GetConclusion() != "success" || !strings.HasPrefix(run.GetExternalID(), "sha256:") {
		w.t.Errorf("plan of %s at %.7s: %s %q", env, sha, run.GetConclusion(), run.GetExternalID())
	}
	if run := w.completed(sha, "slipway/policy: "+env); run.GetConclusion() != "success" {
		w.t.Errorf("policy of %s at %.7s: %s %q", env, sha, run.GetConclusion(), run.GetOutput().GetTitle())
	}
}

// unaffected waits for env's plan and policy at sha and fails unless both
// are neutral, saying the change does not affect env.
func (w *world) unaffected(sha, env, what string) {
	w.t.Helper()
	for _, name := range []string{"slipway/plan: " + env, "slipway/policy: " + env} {
		run := w.completed(sha, name)
		if run.GetConclusion() != "neutral" || run.GetOutput().GetTitle() != "not affected by this "+what {
			w.t.Errorf("%s at %.7s: %s %q, want neutral: not affected", name, sha, run.GetConclusion(), run.GetOutput().GetTitle())
		}
	}
}

// closedOut waits until slipway is done with merged pull request n: its
// plan marked stale and its locks released.
func (w *world) closedOut(n int) {
	w.t.Helper()
	w.eventually(fmt.Sprintf("#%d's plan marked stale", n), func() bool {
		c := w.stickyComments(n)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "[!WARNING]")
	})
}

// stagingExtra changes staging alone: its ConfigMap staging-only to n, and
// a ConfigMap named extra added when extra is not "".
func (w *world) stagingExtra(n, extra string) map[string]string {
	files := map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"" + n + "\"\n"}
	if extra != "" {
		files["deploy/staging/"+extra+".yaml"] = configMapYAML(extra, "1")
		files["deploy/staging/kustomization.yaml"] = fmt.Sprintf("namespace: %s\nresources: [../base, extra.yaml, %s.yaml]\n", w.staging, extra)
	}
	return files
}

func TestRequiredChecksAndMergeQueue(t *testing.T) {
	w := newWorld(t, 4)
	w.patience = 2 * time.Minute
	w.requireEveryEnvironment("staging", "production")

	// A pull request touching only staging merges under a rule requiring
	// both environments' checks: production's are neutral.
	first := w.openPR("staging-only", "alice", w.stagingExtra("2", ""))
	w.planned(w.head(first), "staging")
	merged, err := w.sim.Merge(w.repo, first, "alice")
	if err != nil {
		t.Fatalf("a pull request touching only staging cannot merge: %v", err)
	}
	w.unaffected(w.sim.PR(w.repo, first).GetHead().GetSHA(), "production", "pull request")
	w.convergedAt(merged, "staging")
	w.closedOut(first)

	// A merge queue of two pull requests, one touching staging, one
	// nothing: the group's head is planned and checked, it lands, and
	// staging is deployed once, at its head.
	a := w.openPR("queue-a", "alice", w.stagingExtra("3", "queued"))
	b := w.openPR("queue-b", "bob", map[string]string{"README.md": "the shop, queued\n"})
	w.planned(w.head(a), "staging")
	w.unaffected(w.head(a), "production", "pull request")
	for _, env := range []string{"staging", "production"} {
		w.unaffected(w.head(b), env, "pull request")
	}
	group, err := w.sim.QueueMerge(w.repo, a, b)
	if err != nil {
		t.Fatal(err)
	}
	w.planned(group.HeadSHA, "staging")
	w.unaffected(group.HeadSHA, "production", "merge group")
	final, err := w.sim.CompleteMergeQueue(w.repo, "")
	if err != nil {
		t.Fatalf("the merge group did not land: %v", err)
	}
	w.convergedAt(final, "staging")
	w.closedOut(a)
	time.Sleep(2 * time.Second) // late hints (the second closed event) change nothing
	var refs []string
	for _, d := range w.deployments("staging") {
		refs = append(refs, d.d.GetRef())
	}
	if want := []string{merged, final}; strings.Join(refs, " ") != strings.Join(want, " ") {
		t.Errorf("staging deployed at %v, want %v (the group's head once, not #%d's commit %.7s)", refs, want, a, group.Commits[0])
	}
	if d := w.deployments("production"); len(d) != 0 {
		t.Errorf("production, which nothing touched, was deployed %d times", len(d))
	}
	if cm := w.configMap(w.staging, "staging-only"); w.configMap(w.staging, "queued") == nil || cm == nil || cm.Data["n"] != "3" {
		t.Errorf("staging does not hold both queued changes: %v", cm)
	}

	// A push that makes production affected supersedes the neutral runs:
	// the new head's production checks are a real plan and policy.
	later := w.openPR("later", "bob", w.stagingExtra("4", ""))
	w.unaffected(w.head(later), "production", "pull request")
	head, err := w.sim.Push(w.repo, "later", map[string]string{
		"deploy/production/kustomization.yaml": fmt.Sprintf("namespace: %s\nresources: [../base, prod.yaml]\n", w.prod),
		"deploy/production/prod.yaml":          configMapYAML("prod", "1"),
	}, "touch production", "bob")
	if err != nil {
		t.Fatal(err)
	}
	w.planned(head, "production")
	neutral := 0
	for _, cr := range w.checkRuns(head, "") {
		if cr.GetConclusion() == "neutral" {
			neutral++
		}
	}
	if neutral != 0 {
		t.Errorf("%d neutral check runs on a head that touches every environment", neutral)
	}
}
