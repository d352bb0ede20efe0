package server

// The deploy loop: on-merge environments converge on the head of the
// default branch, whatever webhooks arrive, get lost or come back.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// lastDeployed is the ref of env's newest finished Deployment and its state.
func (w *world) lastDeployed(env string) (ref, state string) {
	d := w.deployments(env)
	if len(d) == 0 || !d[len(d)-1].done() {
		return "", ""
	}
	last := d[len(d)-1]
	return last.d.GetRef(), last.states[len(last.states)-1]
}

// convergedAt waits until both environments' newest Deployment is a
// success at sha.
func (w *world) convergedAt(sha string, envs ...string) {
	w.t.Helper()
	w.t.Cleanup(func() {
		if !w.t.Failed() {
			return
		}
		for _, env := range envs {
			for _, d := range w.deployments(env) {
				w.t.Logf("%s: %.7s %v %s", env, d.d.GetRef(), d.states, d.last.GetDescription())
			}
		}
	})
	w.eventually("every environment deployed at "+sha[:7], func() bool {
		for _, env := range envs {
			if ref, state := w.lastDeployed(env); ref != sha || state != "success" {
				return false
			}
		}
		return true
	})
}

// neverBackwards fails if a Deployment of env went to a commit that an
// earlier successful Deployment of env descends from.
func (w *world) neverBackwards(env string) {
	w.t.Helper()
	var done []string
	for _, d := range w.deployments(env) {
		ref := d.d.GetRef()
		for _, prev := range done {
			if prev != ref && w.sim.IsAncestor(w.repo, ref, prev) {
				w.t.Errorf("%s was deployed at %s after %s, which descends from it", env, ref[:7], prev[:7])
			}
		}
		if d.done() && d.states[len(d.states)-1] == "success" {
			done = append(done, ref)
		}
	}
}

func TestDeployLoopConverges(t *testing.T) {
	w := newWorldWith(t, 4, (*world).onMergeFiles, func(c *config.Config) { c.Server.ResyncInterval = config.Duration(time.Second) })
	w.patience = 2 * time.Minute
	hook := w.sim.WebhookURL()

	// A merge whose webhooks are lost is deployed by the loop's next pass.
	first := w.openPR("first", "alice", map[string]string{"deploy/base/first.yaml": configMapYAML("first", "1"), "deploy/base/kustomization.yaml": "resources: [web.yaml, first.yaml]\n"})
	w.completed(w.head(first), "slipway/plan: production")
	w.sim.SetWebhookURL("http://127.0.0.1:1" + WebhookPath) // nothing listens there
	firstMerge, err := w.sim.Merge(w.repo, first, "alice")
	var lost *githubsim.DeliveryError
	if !errors.As(err, &lost) {
		t.Fatalf("the merge's webhooks were not lost: %v", err)
	}
	w.sim.SetWebhookURL(hook)
	w.convergedAt(firstMerge, "staging", "production")
	if w.configMap(w.prod, "first") == nil {
		t.Error("the loop recorded production deployed without applying it")
	}

	// A deploy that ran and failed stays failed: not retried pass after pass.
	broken := w.openPR("broken", "alice", map[string]string{"deploy/base/web.yaml": deploymentYAML("web", "registry.example/web:2.0", true)})
	w.completed(w.head(broken), "slipway/plan: production")
	brokenMerge, err := w.sim.Merge(w.repo, broken, "alice")
	if err != nil {
		t.Fatal(err)
	}
	recs := w.settled("staging", 2)
	if got := strings.Join(recs[1].states, ","); recs[1].d.GetRef() != brokenMerge || got != "in_progress,failure" {
		t.Fatalf("broken staging: %s at %.7s", got, recs[1].d.GetRef())
	}
	w.reply(broken, "Merge-to-deploy of "+brokenMerge[:7])
	time.Sleep(4 * time.Second) // four passes of the loop
	if n := len(w.deployments("staging")); n != 2 {
		t.Errorf("a failed deploy was retried by the loop: %d staging deployments, want 2", n)
	}
	if n := len(w.deployments("production")); n != 1 {
		t.Errorf("production deployed over a failed staging: %d deployments, want 1", n)
	}

	// An old merge's closed delivery, delivered again (to a replica that
	// never saw it), deploys nothing.
	var closed []byte
	for _, d := range w.sim.Deliveries() {
		if d.Event == "pull_request" && d.Action == "closed" && prNumber(d.Payload) == first {
			closed = d.Payload
		}
	}
	if closed == nil {
		t.Fatal("no closed delivery of the first pull request recorded")
	}
	if _, err := w.sim.SendRaw("pull_request", closed, nil); err != nil {
		t.Fatal(err)
	}
	// The retry of an older merge is refused: staging follows main.
	w.command(first, "alice", "/apply staging")
	w.reply(first, "has moved on to "+brokenMerge[:7])

	// A fix merged later deploys both, after the redelivery has been handled
	// (deploys run one after another per repository).
	fix := w.openPR("fix", "alice", map[string]string{"deploy/base/web.yaml": deploymentYAML("web", "registry.example/web:2.1", false)})
	w.completed(w.head(fix), "slipway/plan: production")
	fixMerge, err := w.sim.Merge(w.repo, fix, "alice")
	if err != nil {
		t.Fatal(err)
	}
	w.convergedAt(fixMerge, "staging", "production")
	for _, env := range []string{"staging", "production"} {
		for _, d := range w.deployments(env) {
			if ref := d.d.GetRef(); ref == firstMerge && d.d.GetID() != w.deployments(env)[0].d.GetID() {
				t.Errorf("%s deployed the first merge again after a redelivery", env)
			}
		}
		w.neverBackwards(env)
	}
}

// Two merges close together, their webhooks spread over two replicas:
// both environments end at the newer merge, never the older after it.
func TestTwoMergesTwoReplicas(t *testing.T) {
	// ConfigMaps only: their deploys are healthy at once, however busy the
	// machine.
	rs := newReplicaSet(t, (*world).shopFiles, false, false)
	w := rs.w
	a := w.openPR("a", "alice", map[string]string{"deploy/base/a.yaml": configMapYAML("a", "1"), "deploy/base/kustomization.yaml": "resources: [config.yaml, a.yaml]\n"})
	b := w.openPR("b", "bob", map[string]string{"deploy/base/config.yaml": configMapYAML("shop", "green")})
	for _, pr := range []int{a, b} {
		w.completed(w.head(pr), "slipway/plan: staging")
	}
	mergeA, err := w.sim.Merge(w.repo, a, "alice")
	if err != nil {
		t.Fatal(err)
	}
	mergeB, err := w.sim.Merge(w.repo, b, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !w.sim.IsAncestor(w.repo, mergeA, mergeB) {
		t.Fatal("the second merge does not descend from the first")
	}
	w.convergedAt(mergeB, "staging", "production")
	time.Sleep(3 * time.Second) // passes of the loop after converging change nothing
	for _, env := range []string{"staging", "production"} {
		if ref, state := w.lastDeployed(env); ref != mergeB || state != "success" {
			t.Errorf("%s ended at %.7s (%s), want the newer merge %.7s", env, ref, state, mergeB)
		}
		w.neverBackwards(env)
	}
	for _, ns := range []string{w.staging, w.prod} {
		if w.configMap(ns, "a") == nil {
			t.Errorf("the first merge's ConfigMap is missing in %s", ns)
		}
	}
	for _, ns := range []string{w.staging, w.prod} {
		if cm := w.configMap(ns, "shop"); cm == nil || cm.Data["value"] != "green" {
			t.Errorf("shop in %s is not the second merge's", ns)
		}
	}
}

// prNumber reads a pull_request payload's number.
func prNumber(payload []byte) int {
	var p struct {
		Number int `json:"number"`
	}
	_ = json.Unmarshal(payload, &p)
	return p.Number
}
