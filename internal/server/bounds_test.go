package server

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// boundedWorld is a world whose server config bounds acme/shop with the
// object form of repos: its two namespaces, no cluster-scoped kinds, and
// the staging namespace's "deployer" as its only service account. store is
// the server config's store.namespace, which exists in the cluster.
func boundedWorld(t *testing.T, files func(*world) map[string]string) (w *world, store string, logs *syncBuffer) {
	t.Helper()
	w = newSimWorld(t)
	store = testenv.NewNamespace(t, w.env)
	cfg := w.serverConfig(2)
	cfg.Store.Path = filepath.Join(t.TempDir(), "slipway.db")
	cfg.Store.Namespace = store
	cfg.Clusters[0].Repos = []config.RepoEntry{{
		Repo:            "acme/shop",
		Namespaces:      []string{w.staging, w.prod},
		ClusterScoped:   []string{},
		ServiceAccounts: []string{w.staging + "/deployer"},
		MinApprovals:    1,
		Rules:           []repoconfig.Rule{{Name: "named", Expr: "has(object.metadata.name)"}},
	}}
	w.cfg = cfg
	var addr string
	logs = &syncBuffer{}
	w.srv, addr = startServerWith(t, cfg, worldOptions{log: logs})
	w.sim.SetWebhookURL("http://" + addr + WebhookPath)
	w.populate(files)
	return w, store, logs
}

// boundedFiles: staging is applied with /apply and names no service
// account, so the server config's default identity plans and applies it.
func (w *world) boundedFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    mode: before-merge
    wait: 0
`, w.staging),
		"deploy/staging/mine.yaml": configMapYAML("mine", "1"),
	}
}

// kubeSystemAccount creates a service account in kube-system that may
// edit ns: what a repository would reach for if it could pick any.
func (w *world) kubeSystemAccount(ns string) string {
	w.t.Helper()
	ctx, c := context.Background(), w.env.Client()
	name := "powerful-" + ns
	if _, err := c.CoreV1().ServiceAccounts("kube-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		_ = c.CoreV1().ServiceAccounts("kube-system").Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: "kube-system"}},
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	return name
}

// The server config's word beats the repository's. A pull request whose
// objects reach kube-system, slipway's store namespace or a cluster-scoped
// kind gets a plan error on each, naming the server rule, and its /apply
// is refused with nothing created; the default service account is the one
// impersonated, and the policy check shows the server's floor and rule. A .slipway.yaml on the default branch naming a kube-system
// service account deploys nothing on merge and fails its plans.
func TestServerConfigBoundsRepository(t *testing.T) {
	w, store, logs := boundedWorld(t, (*world).boundedFiles)
	w.patience = 2 * time.Minute
	defer func() {
		if t.Failed() {
			for _, r := range w.replies(1) {
				t.Logf("reply: %s", r)
			}
		}
	}()
	w.grantEdit(w.staging, "deployer")
	sneaky := "sneaky-" + w.staging // unique in the shared kube-system
	role := "sneaky-" + w.staging
	t.Cleanup(func() { // only if the test fails: nothing should exist
		c := w.env.Client()
		_ = c.CoreV1().ConfigMaps("kube-system").Delete(context.Background(), sneaky, metav1.DeleteOptions{})
		_ = c.RbacV1().ClusterRoles().Delete(context.Background(), role, metav1.DeleteOptions{})
	})
	inNamespace := func(name, ns string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  k: v\n", name, ns)
	}
	pr := w.openPR("reach", "alice", map[string]string{
		"deploy/staging/mine.yaml":   configMapYAML("mine", "2"),
		"deploy/staging/system.yaml": inNamespace(sneaky, "kube-system"),
		"deploy/staging/store.yaml":  inNamespace("sneaky", store),
		"deploy/staging/prod.yaml":   inNamespace("sneaky", w.prod),
		"deploy/staging/role.yaml":   fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: %s\nrules: []\n", role),
	})
	run := w.completed(w.head(pr), "slipway/plan: staging")
	out := run.GetOutput().GetTitle() + "\n" + run.GetOutput().GetSummary() + "\n" + run.GetOutput().GetText()
	if run.GetConclusion() != "failure" {
		t.Errorf("plan concluded %s, want failure:\n%s", run.GetConclusion(), out)
	}
	rule := fmt.Sprintf("clusters[0].repos[0].namespaces: %s, %s", w.staging, w.prod)
	for _, want := range []string{
		"namespace kube-system is not allowed for acme/shop on cluster test (server config " + rule + ")",
		fmt.Sprintf("namespace %s is slipway's own (server config store.namespace): not allowed for acme/shop on cluster test unless clusters[0].repos[0].namespaces names it", store),
		"cluster-scoped kind ClusterRole.rbac.authorization.k8s.io is not allowed for acme/shop on cluster test (server config clusters[0].repos[0].cluster_scoped is empty)",
		// prod is allowed by the server config, but the default identity
		// may not edit it: the deployer was impersonated.
		fmt.Sprintf("system:serviceaccount:%s:deployer", w.staging),
	} {
		if !strings.Contains(unescape(out), want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
	// The server's approvals floor and rule are in the policy check, which
	// bob's approval then satisfies: /apply is refused for the plan alone.
	w.approve(pr, "bob")
	w.eventually("the policy check shows the server's floor, met, and rule", func() bool {
		for _, cr := range w.checkRuns(w.head(pr), "slipway/policy: staging") {
			s := unescape(cr.GetOutput().GetSummary())
			if strings.Contains(s, "| ✅ | approvals (server floor) | 1 of 1 approval") && strings.Contains(s, "| rule named (server) |") {
				return true
			}
		}
		return false
	})
	w.command(pr, "alice", "/apply staging")
	w.reply(pr, "@alice `/apply` refused")
	for _, o := range []struct{ ns, name string }{{"kube-system", sneaky}, {store, "sneaky"}, {w.prod, "sneaky"}, {w.staging, "mine"}} {
		if w.configMap(o.ns, o.name) != nil {
			t.Errorf("ConfigMap %s/%s was created from a plan with errors", o.ns, o.name)
		}
	}
	if _, err := w.env.Client().RbacV1().ClusterRoles().Get(context.Background(), role, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole %s: %v, want not found", role, err)
	}

	// The default branch names a kube-system service account that could
	// do the job: the server config does not let acme/shop act as it.
	powerful := w.kubeSystemAccount(w.staging)
	cfgPR := w.openPR("as-kube-system", "alice", map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    service_account: kube-system/%s
    wait: 0
`, w.staging, powerful),
		"deploy/staging/pushed.yaml": configMapYAML("pushed", "1"),
	})
	w.completed(w.head(cfgPR), "slipway/plan: staging")
	if _, err := w.sim.Merge(w.repo, cfgPR, "bob"); err != nil {
		t.Fatal(err)
	}
	// A refused deploy is recorded as a failed Deployment at the merge,
	// with the reason, and the merged pull request is told.
	refusal := fmt.Sprintf("service account kube-system/%s is not allowed for acme/shop on cluster test (server config clusters[0].repos[0].service_accounts: %s/deployer)", powerful, w.staging)
	recs := w.settled("staging", 1)
	if st := recs[0].last; st.GetState() != "failure" || !strings.HasPrefix(st.GetDescription(), "refused: cluster \"test\": environment staging: service account kube-system/") {
		t.Errorf("the refused deploy's record: %s %q", st.GetState(), st.GetDescription())
	}
	if msg := unescape(w.reply(cfgPR, "Merge-to-deploy")); !strings.Contains(msg, refusal) {
		t.Errorf("the merge comment does not say why the deploy was refused:\n%s", msg)
	}
	w.eventually("the deploy of the merge refused in the log", func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"apply refused"`) && strings.Contains(line, refusal) {
				return true
			}
		}
		return false
	})
	next := w.openPR("after", "alice", map[string]string{"deploy/staging/later.yaml": configMapYAML("later", "1")})
	run = w.completed(w.head(next), "slipway/plan: staging")
	out = run.GetOutput().GetTitle() + "\n" + run.GetOutput().GetSummary() + "\n" + run.GetOutput().GetText()
	if run.GetConclusion() != "failure" || !strings.Contains(unescape(out), refusal) {
		t.Errorf("plan under the kube-system service account: %s\n%s", run.GetConclusion(), out)
	}
	for _, name := range []string{"pushed", "mine", "later"} {
		if w.configMap(w.staging, name) != nil {
			t.Errorf("ConfigMap %s was applied as a service account the server config does not allow", name)
		}
	}
}

// unescape undoes the markdown escaping of check runs and comments (a
// backslash before ASCII punctuation), so a message can be looked for as
// the server wrote it.
func unescape(s string) string {
	return escapedPunct.ReplaceAllString(s, "$1")
}

var escapedPunct = regexp.MustCompile("\\\\([!-/:-@\\[-`{-~])")
