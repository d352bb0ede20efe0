package soak

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// tour is the opening every soak plays before the random mix, so that even
// a one-minute run goes through each promise once: a first deploy of every
// environment, a reviewed /apply and its merge, a hostile pull request
// that is approved and applied, an author's /apply with no review, a
// fork's and another branch's, and a reader's /apply. It waits for slipway only where the next step needs
// its answer, and never longer than patience.
func (d *driver) tour(ctx context.Context) {
	const patience = 20 * time.Second
	d.perform(ctx, "direct-push", func(context.Context) error { return d.pushMain(envOrder...) })
	d.perform(ctx, "other-repo-push", d.otherRepoPush)

	reviewed := func(p *pull, applier string, patience time.Duration) {
		head := d.w.sim.PR(shop, p.number).GetHead().GetSHA()
		d.waitFor(ctx, patience, func() bool { return d.w.completedRun(head, "slipway/plan: staging") })
		d.perform(ctx, "approve", func(context.Context) error {
			user := d.someone(p.author)
			id, err := d.w.sim.Review(shop, p.number, user, "APPROVED")
			if id != 0 {
				d.j.approved(id, p.number, user)
			}
			return err
		})
		d.waitFor(ctx, patience, func() bool { return d.w.passingRun(head, "slipway/policy: staging") })
		d.perform(ctx, "/apply", func(context.Context) error { return d.comment(p.number, applier, "/apply staging") })
	}

	var first *pull
	d.perform(ctx, "open-pr", func(context.Context) error {
		var err error
		first, err = d.open(githubsim.PROptions{Head: d.newBranch("change"), Title: "a reviewed change", User: "alice"}, d.ch.edit("staging", "production"))
		return err
	})
	if first == nil || ctx.Err() != nil {
		return
	}
	reviewed(first, "alice", patience)
	d.waitFor(ctx, patience, func() bool { return d.w.deployedAt(d.w.sim.PR(shop, first.number).GetHead().GetSHA(), "staging") })
	d.perform(ctx, "merge", func(context.Context) error { return d.mergeOne(first) })

	d.perform(ctx, "hostile-pr", d.hostilePR)
	if h := d.pulls[len(d.pulls)-1]; h.hostile && ctx.Err() == nil {
		reviewed(h, "carol", patience/3) // its plan fails, its policy never passes
	}
	// An impatient author applies without waiting for anyone's review.
	var eager *pull
	d.perform(ctx, "open-pr", func(context.Context) error {
		var err error
		eager, err = d.open(githubsim.PROptions{Head: d.newBranch("change"), Title: "an unreviewed change", User: "bob"}, d.ch.edit("staging"))
		return err
	})
	if eager != nil && ctx.Err() == nil {
		head := d.w.sim.PR(shop, eager.number).GetHead().GetSHA()
		d.waitFor(ctx, patience, func() bool { return d.w.completedRun(head, "slipway/plan: staging") })
		d.perform(ctx, "/apply", func(context.Context) error { return d.comment(eager.number, "bob", "/apply staging") })
	}
	d.perform(ctx, "fork-pr", d.forkPR)
	d.perform(ctx, "pr-into-other-branch", d.otherBranchPR)
	d.perform(ctx, "open-pr", d.openPR)
	d.perform(ctx, "reader-comment", func(context.Context) error {
		return d.comment(d.pulls[len(d.pulls)-1].number, reader, "/apply staging")
	})
	d.perform(ctx, "foreign-check-run", d.foreignCheck)
}

// waitFor polls cond until it holds, patience runs out or ctx ends.
func (d *driver) waitFor(ctx context.Context, patience time.Duration, cond func() bool) {
	deadline := time.Now().Add(patience)
	for ctx.Err() == nil && time.Now().Before(deadline) && !cond() {
		time.Sleep(300 * time.Millisecond)
	}
}

func (w *world) completedRun(sha, name string) bool {
	for _, cr := range w.sim.CheckRuns(shop) {
		if cr.GetHeadSHA() == sha && cr.GetName() == name && cr.GetApp().GetSlug() == w.sim.AppSlug() && cr.GetStatus() == "completed" {
			return true
		}
	}
	return false
}

func (w *world) passingRun(sha, name string) bool {
	for _, cr := range w.sim.CheckRuns(shop) {
		if cr.GetHeadSHA() == sha && cr.GetName() == name && cr.GetApp().GetSlug() == w.sim.AppSlug() && cr.GetConclusion() == "success" {
			return true
		}
	}
	return false
}

func (w *world) deployedAt(sha, env string) bool {
	for _, dep := range w.sim.Deployments(shop) {
		if dep.GetSHA() == sha && dep.GetEnvironment() == env {
			st := w.sim.DeploymentStatuses(shop, dep.GetID())
			if len(st) > 0 && st[len(st)-1].GetState() != "in_progress" {
				return true
			}
		}
	}
	return false
}

// lockHolder is the pull request holding env's lock in shop, or 0.
func (w *world) lockHolder(ctx context.Context, env string) int {
	leases, err := w.cluster.Client().CoordinationV1().Leases(storeNS).List(ctx, metav1.ListOptions{LabelSelector: "slipway.dev/lease=environment-lock"})
	if err != nil {
		return 0
	}
	for _, l := range leases.Items {
		held := l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != ""
		if held && l.Annotations["slipway.dev/environment"] == env && strings.EqualFold(l.Annotations["slipway.dev/repo"], shop) {
			n, _ := strconv.Atoi(l.Annotations["slipway.dev/pull-request"])
			return n
		}
	}
	return 0
}

// patchConfigMap edits a live object by hand, as someone with kubectl
// would: a field manager of its own.
func (w *world) patchConfigMap(ctx context.Context, ns, name, patch string) error {
	_, err := w.cluster.Client().CoreV1().ConfigMaps(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-edit"})
	if err != nil {
		return fmt.Errorf("hand edit of %s/%s: %w", ns, name, err)
	}
	return nil
}
