package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// confinedFiles is an environment that deploys to the staging namespace as
// the service account "deployer" there.
func (w *world) confinedFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: team-a
    path: deploy/a
    cluster: test
    namespace: %s
    service_account: deployer
    mode: before-merge
    wait: 0
`, w.staging),
		"README.md": "shop\n",
	}
}

// grantEdit makes ns's service account name an editor of ns only.
func (w *world) grantEdit(ns, name string) {
	w.t.Helper()
	ctx, c := context.Background(), w.env.Client()
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}},
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// An environment with a service_account is planned and applied as that
// account: manifests reaching into a namespace it may not edit fail the
// plan, naming the object, and nothing is applied.
func TestServiceAccountConfinesEnvironment(t *testing.T) {
	w := newWorldWith(t, 2, (*world).confinedFiles)
	w.patience = 2 * time.Minute
	defer func() {
		if t.Failed() {
			for _, r := range w.replies(1) {
				t.Logf("reply: %s", r)
			}
			for _, d := range w.sim.Deployments(w.repo) {
				for _, st := range w.sim.DeploymentStatuses(w.repo, d.GetID()) {
					t.Logf("deployment %s: %s %s", d.GetEnvironment(), st.GetState(), st.GetDescription())
				}
			}
		}
	}()
	w.grantEdit(w.staging, "deployer")
	theirs := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: theirs\n  namespace: %s\ndata:\n  owner: team-b\n", w.prod)
	pr := w.openPR("reach", "alice", map[string]string{
		"deploy/a/mine.yaml":   configMapYAML("mine", "a"),
		"deploy/a/theirs.yaml": theirs,
	})

	run := w.completed(w.head(pr), "slipway/plan: team-a")
	out := run.GetOutput().GetTitle() + "\n" + run.GetOutput().GetSummary() + "\n" + run.GetOutput().GetText()
	if run.GetConclusion() != "failure" {
		t.Errorf("plan concluded %s, want failure:\n%s", run.GetConclusion(), out)
	}
	for _, want := range []string{"theirs", "forbidden", fmt.Sprintf("system:serviceaccount:%s:deployer", w.staging)} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
	w.command(pr, "alice", "/apply team-a")
	w.reply(pr, "@alice `/apply` refused")
	if w.configMap(w.staging, "mine") != nil || w.configMap(w.prod, "theirs") != nil {
		t.Fatal("objects were applied from a plan that failed")
	}

	// Within its namespace the account plans and applies.
	if _, err := w.sim.Push(w.repo, "reach", map[string]string{"deploy/a/theirs.yaml": githubsim.Deleted}, "stay home", "alice"); err != nil {
		t.Fatal(err)
	}
	run = w.completed(w.head(pr), "slipway/plan: team-a")
	if run.GetConclusion() != "success" {
		t.Fatalf("plan within the namespace: %s %s", run.GetConclusion(), run.GetOutput().GetSummary())
	}
	w.command(pr, "alice", "/apply team-a")
	w.settled("team-a", 1)
	cm := w.configMap(w.staging, "mine")
	if cm == nil {
		t.Fatal("mine was not applied")
	}
	if w.configMap(w.prod, "theirs") != nil {
		t.Error("theirs exists")
	}
}
