package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// secretValue is the fixture Secret's value: it must never reach GitHub.
const secretValue = "fixture-s3cr3t-7f1d0c9a"

func deploymentYAML(name, image string, crash bool) string {
	labels, deadline := "app: "+name, ""
	if crash {
		labels += "\n        " + testenv.CrashLoopLabel + `: "true"`
		// kstatus calls it Failed once the deadline passes, and the wait
		// stops there: a crash costs seconds, not the whole wait, so the
		// wait can be long enough for a healthy rollout on a busy machine.
		deadline = "\n  progressDeadlineSeconds: 8"
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:
  replicas: 1%s
  selector:
    matchLabels:
      app: %s
  template:
    metadata:
      labels:
        %s
    spec:
      containers:
        - name: app
          image: %s
`, name, deadline, name, labels, image)
}

func configMapYAML(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
}

// beforeMergeFiles is a repository whose staging is applied with /apply:
// one approval, and no :latest images.
func (w *world) beforeMergeFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    mode: before-merge
    wait: 90s
    url: https://staging.shop.example
    policy:
      approvals: 1
      rules:
        - name: no-latest-tag
          match: {kinds: [Deployment]}
          expr: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))"
          message: images must be pinned
`, w.staging),
		"deploy/staging/web.yaml":    deploymentYAML("web", "registry.example/web:1.0", false),
		"deploy/staging/old.yaml":    configMapYAML("old", "1"),
		"deploy/staging/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + secretValue + "\n",
	}
}

// command comments body on pull request n as user.
func (w *world) command(n int, user, body string) {
	w.t.Helper()
	if _, err := w.sim.Comment(w.repo, n, user, body); err != nil {
		w.t.Fatal(err)
	}
}

// reply waits for a reply on n containing want and returns it.
func (w *world) reply(n int, want string) string {
	w.t.Helper()
	var got string
	w.eventually(fmt.Sprintf("a reply on #%d saying %q", n, want), func() bool {
		for _, r := range w.replies(n) {
			if strings.Contains(r, want) {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

func (w *world) approve(n int, user string) {
	w.t.Helper()
	if _, err := w.sim.Review(w.repo, n, user, "APPROVED"); err != nil {
		w.t.Fatal(err)
	}
}

// configMap reads a ConfigMap; nil when it does not exist.
func (w *world) configMap(ns, name string) *corev1.ConfigMap {
	w.t.Helper()
	cm, err := w.env.Client().CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return cm
}

// deployments are the Deployment records of env, oldest first, each with
// its statuses' states oldest first.
func (w *world) deployments(env string) []deploymentRecord {
	var out []deploymentRecord
	for _, d := range w.sim.Deployments(w.repo) {
		if d.GetEnvironment() != env {
			continue
		}
		rec := deploymentRecord{d: d}
		for _, st := range w.sim.DeploymentStatuses(w.repo, d.GetID()) { // oldest first
			rec.states = append(rec.states, st.GetState())
			rec.last = st
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b deploymentRecord) int { return int(a.d.GetID() - b.d.GetID()) })
	return out
}

type deploymentRecord struct {
	d      *github.Deployment
	states []string
	last   *github.DeploymentStatus
}

func (r deploymentRecord) done() bool {
	n := len(r.states)
	return n > 0 && r.states[n-1] != "in_progress" && r.states[n-1] != "queued"
}

// settled waits until env has n Deployment records, all finished.
func (w *world) settled(env string, n int) []deploymentRecord {
	w.t.Helper()
	var got []deploymentRecord
	deadline := time.Now().Add(w.patience)
	for {
		got = w.deployments(env)
		if len(got) == n && got[n-1].done() {
			return got
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, r := range got {
				seen = append(seen, fmt.Sprintf("%s@%.7s %v", r.d.GetEnvironment(), r.d.GetRef(), r.states))
			}
			w.t.Fatalf("timed out waiting for %d finished deployments of %s; have %d: %s", n, env, len(got), strings.Join(seen, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noSecretSent fails if any request slipway made to GitHub carried value.
func (w *world) noSecretSent(value string) {
	w.t.Helper()
	reqs := w.sim.Requests()
	if len(reqs) == 0 {
		w.t.Fatal("githubsim recorded no requests")
	}
	for _, r := range reqs {
		if strings.Contains(string(r.Body), value) || strings.Contains(r.Path+"?"+r.Query, value) {
			w.t.Errorf("%s %s sent the Secret's value", r.Method, r.Path)
		}
	}
}

func TestApplyBeforeMerge(t *testing.T) {
	recv := newNotifyReceiver(t)
	w := newWorldWith(t, 4, (*world).beforeMergeFiles, recv.configure, recv.withDownReceiver)
	w.patience = 2 * time.Minute

	pr := w.openPR("first", "alice", map[string]string{"deploy/staging/extra.yaml": configMapYAML("extra", "x")})
	w.completed(w.head(pr), "slipway/plan: staging")
	policyRun := w.completed(w.head(pr), "slipway/policy: staging")
	if policyRun.GetConclusion() != "failure" || !strings.Contains(policyRun.GetOutput().GetSummary(), "approv") {
		t.Errorf("policy before any review: %s %q", policyRun.GetConclusion(), policyRun.GetOutput().GetSummary())
	}

	// Refused: a reader; a writer without the approval.
	w.command(pr, "rita", "/apply staging")
	w.reply(pr, "@rita `/apply` refused")
	w.command(pr, "bob", "/apply staging")
	refusal := w.reply(pr, "@bob `/apply` refused")
	if !strings.Contains(refusal, "slipway/policy: staging") {
		t.Errorf("bob's refusal does not name the policy: %s", refusal)
	}

	// Approved, but the live cluster moved since the plan was reviewed.
	w.approve(pr, "bob")
	w.eventually("policy passes after approval", func() bool {
		runs := w.checkRuns(w.head(pr), "slipway/policy: staging")
		return len(runs) > 0 && runs[0].GetConclusion() == "success"
	})
	if _, err := w.env.Client().CoreV1().ConfigMaps(w.staging).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "old"}, Data: map[string]string{"value": "edited by hand"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.command(pr, "alice", "/apply staging")
	w.reply(pr, "the plan changed since it was reviewed")
	if w.configMap(w.staging, "extra") != nil {
		t.Fatal("a refused /apply created objects")
	}
	if len(w.deployments("staging")) != 0 {
		t.Fatal("a refused /apply left a Deployment record")
	}

	// Re-planned and applied: objects created, rollout waited for, recorded.
	w.command(pr, "alice", "/plan staging")
	w.eventually("a new plan", func() bool { return len(w.checkRuns(w.head(pr), "slipway/plan: staging")) >= 2 })
	w.completed(w.head(pr), "slipway/plan: staging")
	w.eventually("all plans done", func() bool {
		for _, r := range w.checkRuns(w.head(pr), "slipway/plan: staging") {
			if r.GetStatus() != "completed" {
				return false
			}
		}
		return true
	})
	w.approve(pr, "bob") // bob's approval was of the plan before; this one is of the new plan
	w.command(pr, "alice", "/apply staging")
	recs := w.settled("staging", 1)
	if got := strings.Join(recs[0].states, ","); got != "in_progress,success" {
		t.Fatalf("deployment statuses %s (%s)", got, recs[0].last.GetDescription())
	}
	d := recs[0].d
	if d.GetRef() != w.head(pr) || d.GetTask() != "deploy" || !strings.Contains(string(d.Payload), fmt.Sprintf(`"pull_request":%d`, pr)) ||
		!strings.Contains(string(d.Payload), "plan_digest") {
		t.Errorf("deployment record: ref %s task %s payload %s", d.GetRef(), d.GetTask(), d.Payload)
	}
	if recs[0].last.GetEnvironmentURL() != "https://staging.shop.example" || recs[0].last.GetLogURL() == "" {
		t.Errorf("status urls: env %q log %q", recs[0].last.GetEnvironmentURL(), recs[0].last.GetLogURL())
	}
	if w.configMap(w.staging, "extra") == nil {
		t.Error("extra was not created")
	}
	web, err := w.env.Client().AppsV1().Deployments(w.staging).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil || web.Status.ReadyReplicas != 1 {
		t.Errorf("web not rolled out when the apply reported success: %v %+v", err, web.Status)
	}
	apply := w.completed(w.head(pr), "slipway/apply: staging")
	if apply.GetConclusion() != "success" {
		t.Errorf("apply check: %s %s", apply.GetConclusion(), apply.GetOutput().GetTitle())
	}
	w.eventually("the sticky comment shows the outcome", func() bool {
		c := w.stickyComments(pr)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "/apply by @alice")
	})
	if _, err := w.sim.Merge(w.repo, pr, "alice"); err != nil {
		t.Fatal(err)
	}

	// A second pull request removes a ConfigMap: /apply prunes it.
	pr2 := w.openPR("prune", "alice", map[string]string{"deploy/staging/old.yaml": githubsim.Deleted})
	w.completed(w.head(pr2), "slipway/plan: staging")
	w.approve(pr2, "bob")
	w.eventually("policy passes on #2", func() bool {
		runs := w.checkRuns(w.head(pr2), "slipway/policy: staging")
		return len(runs) > 0 && runs[0].GetConclusion() == "success"
	})
	w.command(pr2, "alice", "/apply")
	w.settled("staging", 2)
	if w.configMap(w.staging, "old") != nil {
		t.Error("old was not pruned")
	}
	if w.configMap(w.staging, "extra") == nil {
		t.Error("extra was pruned though still rendered")
	}
	if _, err := w.sim.Merge(w.repo, pr2, "alice"); err != nil {
		t.Fatal(err)
	}

	// A :latest image fails the policy, named, and /apply refuses.
	pr3 := w.openPR("latest", "alice", map[string]string{"deploy/staging/web.yaml": deploymentYAML("web", "registry.example/web:latest", false)})
	w.completed(w.head(pr3), "slipway/plan: staging")
	w.approve(pr3, "bob")
	w.eventually("policy names the :latest Deployment", func() bool {
		runs := w.checkRuns(w.head(pr3), "slipway/policy: staging")
		return len(runs) > 0 && runs[0].GetConclusion() == "failure" &&
			strings.Contains(runs[0].GetOutput().GetSummary(), "Deployment/"+w.staging+"/web") &&
			strings.Contains(runs[0].GetOutput().GetSummary(), "images must be pinned")
	})
	w.command(pr3, "alice", "/apply staging")
	w.reply(pr3, "no-latest-tag")
	w.sim.ClosePR(w.repo, pr3, "alice")

	// A Deployment that never becomes ready fails after wait, named.
	pr4 := w.openPR("crash", "alice", map[string]string{"deploy/staging/web.yaml": deploymentYAML("web", "registry.example/web:2.0", true)})
	w.completed(w.head(pr4), "slipway/plan: staging")
	w.approve(pr4, "bob")
	w.eventually("policy passes on #4", func() bool {
		runs := w.checkRuns(w.head(pr4), "slipway/policy: staging")
		return len(runs) > 0 && runs[0].GetConclusion() == "success"
	})
	w.command(pr4, "alice", "/apply staging")
	recs = w.settled("staging", 3)
	if got := strings.Join(recs[2].states, ","); got != "in_progress,failure" || !strings.Contains(recs[2].last.GetDescription(), "web") {
		t.Errorf("crashing rollout: statuses %s, description %q", got, recs[2].last.GetDescription())
	}
	w.eventually("the outcome names the unhealthy Deployment", func() bool {
		c := w.stickyComments(pr4)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "❌") && strings.Contains(c[0].GetBody(), "web")
	})

	w.sim.Flush()
	w.noSecretSent(secretValue)
	w.operatedAsTold(recv)
}

// onMergeFiles is a repository where merges deploy staging, then production.
func (w *world) onMergeFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    wait: 90s
  - name: production
    path: deploy/production
    cluster: test
    namespace: %s
    depends_on: [staging]
    production: true
    wait: 60s
`, w.staging, w.prod),
		"deploy/base/kustomization.yaml":       "resources: [web.yaml]\n",
		"deploy/base/web.yaml":                 deploymentYAML("web", "registry.example/web:1.0", false),
		"deploy/staging/kustomization.yaml":    "resources: [../base]\n",
		"deploy/production/kustomization.yaml": "resources: [../base]\n",
	}
}

func TestMergeToDeploy(t *testing.T) {
	w := newWorldWith(t, 4, (*world).onMergeFiles)
	w.patience = 2 * time.Minute

	// Merging reconciles staging, then production, each with its record.
	feature := map[string]string{
		"deploy/base/kustomization.yaml": "resources: [web.yaml, feature.yaml]\n",
		"deploy/base/feature.yaml":       configMapYAML("feature", "on"),
	}
	pr := w.openPR("feature", "alice", feature)
	w.completed(w.head(pr), "slipway/plan: production")
	merge, err := w.sim.Merge(w.repo, pr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	staging, prod := w.settled("staging", 1), w.settled("production", 1)
	for _, r := range []deploymentRecord{staging[0], prod[0]} {
		if r.d.GetRef() != merge || strings.Join(r.states, ",") != "in_progress,success" {
			t.Errorf("%s: ref %s statuses %v (%s)", r.d.GetEnvironment(), r.d.GetRef(), r.states, r.last.GetDescription())
		}
	}
	if staging[0].d.GetID() > prod[0].d.GetID() || staging[0].last.GetCreatedAt().After(prod[0].d.GetCreatedAt().Time) {
		t.Error("production started before staging finished")
	}
	for _, ns := range []string{w.staging, w.prod} {
		if w.configMap(ns, "feature") == nil {
			t.Errorf("feature missing in %s after the merge", ns)
		}
	}
	w.reply(pr, "Merge-to-deploy of "+merge[:7])

	// Reverting the pull request removes what it added.
	revert := w.openPR("revert", "alice", map[string]string{
		"deploy/base/kustomization.yaml": "resources: [web.yaml]\n",
		"deploy/base/feature.yaml":       githubsim.Deleted,
	})
	w.completed(w.head(revert), "slipway/plan: production")
	if _, err := w.sim.Merge(w.repo, revert, "alice"); err != nil {
		t.Fatal(err)
	}
	w.settled("staging", 2)
	w.settled("production", 2)
	for _, ns := range []string{w.staging, w.prod} {
		if w.configMap(ns, "feature") != nil {
			t.Errorf("feature still in %s after the revert merged", ns)
		}
	}

	// Breaking staging stops production.
	broken := w.openPR("broken", "alice", map[string]string{"deploy/base/web.yaml": deploymentYAML("web", "registry.example/web:2.0", true)})
	w.completed(w.head(broken), "slipway/plan: production")
	if _, err := w.sim.Merge(w.repo, broken, "alice"); err != nil {
		t.Fatal(err)
	}
	recs := w.settled("staging", 3)
	if got := strings.Join(recs[2].states, ","); got != "in_progress,failure" {
		t.Errorf("broken staging: statuses %s", got)
	}
	msg := w.reply(broken, "Merge-to-deploy")
	if !strings.Contains(msg, "not started") || !strings.Contains(msg, "production") {
		t.Errorf("the merge comment does not say production did not start:\n%s", msg)
	}
	if n := len(w.deployments("production")); n != 2 {
		t.Errorf("production has %d deployments after staging broke; want 2", n)
	}

	// The retry on the merged pull request is for appliers only.
	w.command(broken, "rita", "/apply staging")
	w.reply(broken, "@rita `/apply` refused")

	// A direct push to the default branch that no pull request explains
	// is reconciled too: here it fixes staging forward.
	fix, err := w.sim.Push(w.repo, "main", map[string]string{
		"deploy/base/web.yaml":           deploymentYAML("web", "registry.example/web:2.1", false),
		"deploy/base/kustomization.yaml": "resources: [web.yaml, hotfix.yaml]\n",
		"deploy/base/hotfix.yaml":        configMapYAML("hotfix", "1"),
	}, "hotfix", "alice")
	if err != nil {
		t.Fatal(err)
	}
	recs = w.settled("staging", 4)
	prod = w.settled("production", 3)
	for _, r := range []deploymentRecord{recs[3], prod[2]} {
		if r.d.GetRef() != fix || strings.Join(r.states, ",") != "in_progress,success" || strings.Contains(string(r.d.Payload), "pull_request") {
			t.Errorf("%s after the direct push: ref %s statuses %v payload %s (%s)", r.d.GetEnvironment(), r.d.GetRef(), r.states, r.d.Payload, r.last.GetDescription())
		}
	}
	for _, ns := range []string{w.staging, w.prod} {
		if w.configMap(ns, "hotfix") == nil {
			t.Errorf("hotfix missing in %s after the direct push", ns)
		}
	}
}
