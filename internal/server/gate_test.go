package server

// The gate: a pull request never gets more than the default branch's rules
// and the server config allow. Each test plays an attack through signed
// webhooks against githubsim and the test cluster.

import (
	"fmt"
	"strings"
	"testing"
)

// gateConfig is a .slipway.yaml: staging applied with /apply after one
// approval; with relaxed, no approval and an extra on-merge environment on
// the same cluster, as a writer would push it to a branch of their own.
func (w *world) gateConfig(relaxed bool) string {
	approvals, extra := 1, ""
	if relaxed {
		approvals = 0
		extra = fmt.Sprintf(`  - name: sneaky
    path: deploy/sneaky
    cluster: test
    namespace: %s
`, w.prod)
	}
	return fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    mode: before-merge
    wait: 0s
    policy:
      approvals: %d
%s`, w.staging, approvals, extra)
}

func (w *world) gateFiles() map[string]string {
	return map[string]string{
		".slipway.yaml":           w.gateConfig(false),
		"deploy/staging/old.yaml": configMapYAML("old", "1"),
	}
}

// A writer pushes a branch whose .slipway.yaml drops the approval and adds
// an environment, then opens a pull request into it: slipway reads the
// rules from the default branch only, so the pull request is not planned,
// its /apply is refused, and merging it into that branch deploys nothing.
func TestPullRequestIntoRelaxedBranch(t *testing.T) {
	w := newWorldWith(t, 2, (*world).gateFiles)
	if _, err := w.sim.Push(w.repo, "relaxed", map[string]string{".slipway.yaml": w.gateConfig(true)}, "relax", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.Push(w.repo, "attack", map[string]string{
		"deploy/staging/old.yaml":   configMapYAML("old", "2"),
		"deploy/sneaky/cm.yaml":     configMapYAML("sneaky", "1"),
		"deploy/staging/extra.yaml": configMapYAML("extra", "1"),
	}, "attack", "alice"); err != nil {
		t.Fatal(err)
	}
	pr, err := w.sim.OpenPR(w.repo, "attack", "relaxed", "Looks harmless", "alice")
	if err != nil {
		t.Fatal(err)
	}
	w.eventually("a note that the pull request is not into the default branch", func() bool {
		for _, c := range w.stickyComments(pr) {
			if strings.Contains(c.GetBody(), "targets `relaxed`, not `main`") {
				return true
			}
		}
		return false
	})

	w.command(pr, "alice", "/apply staging")
	w.reply(pr, "`/apply` refused")
	w.command(pr, "bob", "/plan")
	w.reply(pr, "`/plan` refused")

	if _, err := w.sim.Merge(w.repo, pr, "alice"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the plan comment marked closed", func() bool {
		for _, c := range w.stickyComments(pr) {
			if strings.Contains(c.GetBody(), "is closed") {
				return true
			}
		}
		return false
	})
	// The merge's deploy job marks the comment when it is done, so
	// whatever it was going to deploy has been deployed by now.
	if runs := w.checkRuns(w.head(pr), ""); len(runs) != 0 {
		t.Errorf("check runs on a pull request into another branch: %d (first %q)", len(runs), runs[0].GetName())
	}
	if d := w.sim.Deployments(w.repo); len(d) != 0 {
		t.Errorf("merging into another branch made %d deployments (first to %s)", len(d), d[0].GetEnvironment())
	}
	for _, at := range []struct{ ns, name string }{{w.staging, "old"}, {w.staging, "extra"}, {w.prod, "sneaky"}} {
		if cm := w.configMap(at.ns, at.name); cm != nil {
			t.Errorf("ConfigMap %s/%s was applied from a pull request into another branch", at.ns, at.name)
		}
	}
	for _, r := range w.replies(pr) {
		if strings.Contains(r, "refused") && !strings.Contains(r, "`main`, the default branch") {
			t.Errorf("a refusal that does not name the default branch: %q", r)
		}
	}
}
