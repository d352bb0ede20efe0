package server

// What was reviewed is what is applied: the digest /apply recomputes covers
// what the reviewer saw and the rules, not what controllers write.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// digestConfig is a .slipway.yaml: staging applied with /apply after one
// approval; url is the one knob the test turns to change the rules.
func (w *world) digestConfig(url string) string {
	return fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    mode: before-merge
    wait: 0s
    url: %s
    policy:
      approvals: 1
`, w.staging, url)
}

// TestDigestHoldsWhatWasReviewed: a pull request changes a running
// Deployment's image. Between review and /apply, a hand edit of the live
// spec refuses the apply (the diff reviewed is not the one it would make),
// and so does a .slipway.yaml change on the default branch (the rules
// changed); a status write by anyone does not.
func TestDigestHoldsWhatWasReviewed(t *testing.T) {
	w := newWorldWith(t, 2, func(w *world) map[string]string {
		return map[string]string{
			".slipway.yaml":           w.digestConfig("https://staging.shop.example"),
			"deploy/staging/web.yaml": deploymentYAML("web", "registry.example/web:1.0", false),
		}
	})
	w.patience = 2 * time.Minute
	ctx := context.Background()
	deployments := w.env.Client().AppsV1().Deployments(w.staging)

	// web runs 1.0 already, deployed before slipway; the controller owns
	// its status.
	var web appsv1.Deployment
	if err := yaml.Unmarshal([]byte(deploymentYAML("web", "registry.example/web:1.0", false)), &web); err != nil {
		t.Fatal(err)
	}
	if _, err := deployments.Create(ctx, &web, metav1.CreateOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	w.eventually("web rolled out", func() bool {
		d, err := deployments.Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == 1
	})

	pr := w.openPR("bump", "alice", map[string]string{"deploy/staging/web.yaml": deploymentYAML("web", "registry.example/web:2.0", false)})
	plans := 0
	// reviewed waits for the next plan of the head, has bob approve it and
	// waits for the policy to pass.
	reviewed := func() {
		t.Helper()
		plans++
		w.eventually(fmt.Sprintf("plan %d completed", plans), func() bool {
			runs := w.checkRuns(w.head(pr), "slipway/plan: staging")
			if len(runs) < plans {
				return false
			}
			for _, r := range runs {
				if r.GetStatus() != "completed" {
					return false
				}
			}
			return true
		})
		w.approve(pr, "bob")
		w.eventually("policy passes", func() bool {
			runs := w.checkRuns(w.head(pr), "slipway/policy: staging")
			return len(runs) > 0 && runs[0].GetConclusion() == "success"
		})
	}
	image := func() string {
		d, err := deployments.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}
	refusals := func() []string {
		var out []string
		for _, r := range w.replies(pr) {
			if strings.Contains(r, "@alice `/apply` refused") {
				out = append(out, r)
			}
		}
		return out
	}
	refused := func(want string) {
		t.Helper()
		before := len(refusals())
		w.command(pr, "alice", "/apply staging")
		w.eventually("a refusal", func() bool { return len(refusals()) > before })
		if got := refusals()[before]; !strings.Contains(got, want) {
			t.Errorf("/apply answered %q, want a refusal saying %q", got, want)
		}
		if img := image(); img != "registry.example/web:1.0" || len(w.deployments("staging")) != 0 {
			t.Fatalf("a refused /apply changed web (image %s) or recorded a deployment", img)
		}
	}

	// Someone edits the live spec after review: refused.
	reviewed()
	if _, err := deployments.Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"revisionHistoryLimit":3}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	refused("the plan changed since it was reviewed")

	// The default branch's .slipway.yaml changes after review: the objects
	// would be the same, the rules are not. Refused, saying so.
	w.command(pr, "alice", "/plan staging")
	reviewed()
	if _, err := w.sim.Push(w.repo, "main", map[string]string{".slipway.yaml": w.digestConfig("https://staging.shop.example/new")}, "change the rules", "bob"); err != nil {
		t.Fatal(err)
	}
	refused("the rules changed since the plan was reviewed")

	// Planned under the new rules and approved; then the status is
	// written (as the deployment controller does all the time): applied.
	w.command(pr, "alice", "/plan staging")
	reviewed()
	live, err := deployments.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status := []byte(`{"status":{"readyReplicas":0,"availableReplicas":0,"unavailableReplicas":1}}`)
	written, err := deployments.Patch(ctx, "web", types.MergePatchType, status, metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if written.ResourceVersion == live.ResourceVersion {
		t.Fatal("the status write did not move the resourceVersion: the test proves nothing")
	}
	w.command(pr, "alice", "/apply staging")
	recs := w.settled("staging", 1)
	if got := strings.Join(recs[0].states, ","); got != "in_progress,success" {
		t.Errorf("apply after a status write: statuses %s (%s); replies %q", got, recs[0].last.GetDescription(), w.replies(pr))
	}
	if url := recs[0].last.GetEnvironmentURL(); url != "https://staging.shop.example/new" {
		t.Errorf("the apply used the rules of %q, not the new ones", url)
	}
	if img := image(); img != "registry.example/web:2.0" {
		t.Errorf("web runs %s after the apply, want 2.0", img)
	}
}
