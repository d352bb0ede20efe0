package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// gatedFiles: staging is applied with /apply after one approval;
// production deploys on merge once staging is applied; both render a
// shared base.
func (w *world) gatedFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    mode: before-merge
    policy:
      approvals: 1
  - name: production
    path: deploy/production
    cluster: test
    namespace: %s
    mode: on-merge
    depends_on: [staging]
`, w.staging, w.prod),
		"deploy/base/kustomization.yaml":       "resources: [config.yaml]\n",
		"deploy/base/config.yaml":              configMapYAML("shop", "blue"),
		"deploy/staging/kustomization.yaml":    "resources: [../base]\n",
		"deploy/production/kustomization.yaml": "resources: [../base]\n",
	}
}

// Who counts, played on one pull request that alice opens:
//   - bob pushes to it and approves his own push: his /apply is refused;
//   - carol approves, then the plan of the same head is redone with a new
//     digest: her approval was not of it, and /apply is refused;
//   - GitHub Actions posts "slipway/apply: staging" success on the head and
//     the pull request merges: production, which depends on staging, is not
//     deployed, and the merge comment says staging was not applied.
func TestWhoCounts(t *testing.T) {
	w := newWorldWith(t, 2, (*world).gatedFiles)
	if err := w.sim.SetPermission(w.repo, "carol", "write"); err != nil {
		t.Fatal(err)
	}
	pr := w.openPR("colour", "alice", map[string]string{"deploy/base/config.yaml": configMapYAML("shop", "green")})
	t.Cleanup(func() { w.logConversation(pr) })
	w.completed(w.head(pr), "slipway/plan: staging")
	nothingApplied := func(step string) {
		t.Helper()
		if w.configMap(w.staging, "shop") != nil || w.configMap(w.prod, "shop") != nil || len(w.sim.Deployments(w.repo)) != 0 {
			t.Fatalf("%s: something was applied", step)
		}
	}

	// (a) bob pushes to alice's pull request and approves it.
	if _, err := w.sim.Push(w.repo, "colour", map[string]string{"deploy/base/config.yaml": configMapYAML("shop", "teal")}, "teal", "bob"); err != nil {
		t.Fatal(err)
	}
	head := w.head(pr)
	w.completed(head, "slipway/plan: staging")
	w.approve(pr, "bob")
	w.command(pr, "bob", "/apply staging")
	if refusal := w.reply(pr, "@bob `/apply` refused"); !strings.Contains(refusal, "bob pushed the head commit, so their approval does not count") {
		t.Errorf("bob's refusal does not say why: %s", refusal)
	}
	nothingApplied("bob's /apply")

	// (b) carol's approval counts, until a re-plan of the same head gives a
	// new digest she never saw.
	w.approve(pr, "carol")
	w.eventually("policy passes on carol's approval", func() bool {
		runs := w.checkRuns(head, "slipway/policy: staging")
		return len(runs) > 0 && runs[0].GetConclusion() == "success"
	})
	// GitHub dates reviews to the second: the new plan must come later.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	if _, err := w.env.Client().CoreV1().ConfigMaps(w.staging).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Data: map[string]string{"value": "made by hand"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.command(pr, "alice", "/plan staging")
	w.eventually("the re-plan and its policy", func() bool {
		plans, policies := w.checkRuns(head, "slipway/plan: staging"), w.checkRuns(head, "slipway/policy: staging")
		return len(plans) == 2 && plans[1].GetStatus() == "completed" && plans[1].GetExternalID() != plans[0].GetExternalID() &&
			len(policies) > 0 && strings.Contains(policies[0].GetOutput().GetSummary(), "carol approved before the current plan")
	})
	w.command(pr, "alice", "/apply staging")
	if refusal := w.reply(pr, "@alice `/apply` refused"); !strings.Contains(refusal, "carol approved before the current plan (sha256:") {
		t.Errorf("alice's refusal does not say why: %s", refusal)
	}
	if err := w.env.Client().CoreV1().ConfigMaps(w.staging).Delete(context.Background(), "shop", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	nothingApplied("alice's /apply")

	// (c) another App says staging was applied; the merge must not believe it.
	if _, err := w.sim.CreateCheckRunAs(githubsim.GitHubActions, w.repo, githubsim.OtherCheckRun{
		Name: "slipway/apply: staging", HeadSHA: head, Conclusion: "success", Title: "Applied", Summary: "staging is applied",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.Merge(w.repo, pr, "alice"); err != nil {
		t.Fatal(err)
	}
	merged := w.reply(pr, "was changed by this pull request but not applied")
	if !strings.Contains(merged, "`staging` (before-merge)") || !strings.Contains(merged, "⏭️ `production` | not started") {
		t.Errorf("merge comment: %s", merged)
	}
	w.sim.Flush()
	nothingApplied("the merge")
}
