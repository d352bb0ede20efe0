package server

import (
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/config"
)

// A bad merge reached production. Going back is reviewed: /rollback on the
// revert's pull request plans production at the commit before, a second
// /rollback applies that plan once someone other than the author and the
// requester approved after it was published, and the deploy loop leaves
// production there until the default branch moves on.
func TestReviewedRollback(t *testing.T) {
	w := newWorldWith(t, 4, func(w *world) map[string]string {
		files := w.shopFiles()
		files[".slipway.yaml"] = strings.Replace(files[".slipway.yaml"], "    depends_on: [staging]\n", "    depends_on: [staging]\n    policy:\n      approvals: 1\n", 1)
		return files
	}, func(c *config.Config) { c.Server.ResyncInterval = config.Duration(time.Second) })
	w.patience = 2 * time.Minute
	if err := w.sim.SetPermission(w.repo, "carol", "write"); err != nil {
		t.Fatal(err)
	}
	merge := func(branch, color string, extra map[string]string) string {
		files := map[string]string{"deploy/base/config.yaml": configMapYAML("shop", color)}
		for k, v := range extra {
			files[k] = v
		}
		pr := w.openPR(branch, "alice", files)
		w.completed(w.head(pr), "slipway/plan: production")
		sha, err := w.sim.Merge(w.repo, pr, "alice")
		if err != nil {
			t.Fatal(err)
		}
		w.convergedAt(sha, "staging", "production")
		return sha
	}
	good := merge("green", "green", nil)
	bad := merge("red", "red", nil)

	revert := w.openPR("revert", "alice", map[string]string{"deploy/base/config.yaml": configMapYAML("shop", "green"), "deploy/base/kustomization.yaml": "resources: [config.yaml, note.yaml]\n", "deploy/base/note.yaml": configMapYAML("note", "reverted")})
	w.completed(w.head(revert), "slipway/plan: production")
	w.command(revert, "rita", "/rollback production")
	w.reply(revert, "`/rollback` needs write permission")

	w.command(revert, "bob", "/rollback production")
	w.reply(revert, "Planned the rollback of `production` from "+bad[:7]+" to "+good[:7])
	if runs := w.checkRuns(w.head(revert), "slipway/rollback: production"); len(runs) != 1 || runs[0].GetConclusion() != "neutral" || runs[0].GetExternalID() == "" {
		t.Fatalf("the rollback's plan is not published for review: %d runs", len(runs))
	}
	// The approval of whoever asked does not count (GitHub refuses the
	// author's own).
	w.approve(revert, "bob")
	w.command(revert, "bob", "/rollback production")
	w.reply(revert, "the policy of `production` does not pass for this rollback")
	if ref, _ := w.lastDeployed("production"); ref != bad {
		t.Fatalf("production moved to %.7s before the rollback was approved", ref)
	}

	w.approve(revert, "carol")
	w.command(revert, "bob", "/rollback production")
	w.reply(revert, "Rollback of `production` to "+good[:7])
	w.convergedAt(good, "production")
	if cm := w.configMap(w.prod, "shop"); cm == nil || cm.Data["value"] != "green" {
		t.Errorf("production's ConfigMap after the rollback: %v", cm)
	}
	d := w.deployments("production")
	if last := d[len(d)-1]; !strings.Contains(string(last.d.Payload), `"rollback_of":"`+bad+`"`) {
		t.Errorf("the rollback's Deployment is not marked as one: %s", last.d.Payload)
	}
	time.Sleep(4 * time.Second) // four passes of the deploy loop
	if ref, _ := w.lastDeployed("production"); ref != good || len(w.deployments("production")) != len(d) {
		t.Errorf("the deploy loop moved production off the rollback: at %.7s with %d deployments", ref, len(w.deployments("production")))
	}

	// The revert merges: the default branch moved on, production follows.
	sha, err := w.sim.Merge(w.repo, revert, "alice")
	if err != nil {
		t.Fatal(err)
	}
	w.convergedAt(sha, "staging", "production")
	if w.configMap(w.prod, "note") == nil {
		t.Error("the merge after the rollback was not deployed to production")
	}
	w.neverBackwards("staging")
}
