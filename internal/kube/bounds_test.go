package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// testConfig: production bounds acme/shop and lets every other acme repo
// in permissively; ops names slipway's namespace literally.
func testConfig() *config.Config {
	cfg := config.Defaults()
	cfg.Store.Namespace = "slipway-store"
	cfg.Clusters = []config.Cluster{
		{Name: "production", Repos: []config.RepoEntry{
			{Repo: "acme/shop", Namespaces: []string{"shop-*"}, ClusterScoped: []string{"Namespace", "ClusterRole.rbac.authorization.k8s.io"},
				ServiceAccounts: []string{"shop-*/deployer", "shop-tools/runner"}, MinApprovals: 1,
				Rules: []repoconfig.Rule{{Name: "no-host-network", Expr: "true"}}},
			{Repo: "acme/ops", Namespaces: []string{"*", "slipway-store"}, ServiceAccounts: []string{"ops/deployer"}},
			{Repo: "acme/bare", Namespaces: []string{"bare"}}, // before acme/*, so it decides for acme/bare
			{Repo: "acme/*", Bare: true},
		}},
		{Name: "staging", Repos: config.AnyNamespace("acme/*")},
		{Name: "locked"},
	}
	return cfg
}

func grant(t *testing.T, cluster, repo string) *Grant {
	t.Helper()
	b, err := NewBounds(testConfig(), "slipway-system")
	if err != nil {
		t.Fatal(err)
	}
	g, err := b.For(cluster, repo)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFor(t *testing.T) {
	b, err := NewBounds(testConfig(), "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cluster, repo string
		wantWhere     string
		wantErr       string
	}{
		{"production", "acme/shop", "clusters[0].repos[0]", ""},
		{"production", "ACME/Shop", "clusters[0].repos[0]", ""},
		{"production", "acme/web", "clusters[0].repos[3]", ""},
		{"production", "partner/web", "", `partner/web may not deploy to cluster "production": the server config lists only acme/shop, acme/ops, acme/bare, acme/* for it`},
		{"locked", "acme/shop", "", `acme/shop may not deploy to cluster "locked": its repos list in the server config is empty`},
		{"nowhere", "acme/shop", "", `no cluster "nowhere" in the server config`},
	}
	for _, tt := range tests {
		g, err := b.For(tt.cluster, tt.repo)
		switch {
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("For(%s, %s) = %v, want %q", tt.cluster, tt.repo, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("For(%s, %s): %v", tt.cluster, tt.repo, err)
		case tt.wantErr == "" && g.where != tt.wantWhere:
			t.Errorf("For(%s, %s) decided by %s, want %s", tt.cluster, tt.repo, g.where, tt.wantWhere)
		}
	}
	if g, _ := b.For("production", "acme/shop"); g.MinApprovals != 1 || len(g.Rules) != 1 || !g.Rules[0].Server || g.Rules[0].Name != "no-host-network" {
		t.Errorf("shop's floor and rules: %d %+v", g.MinApprovals, g.Rules)
	}
	if g, _ := b.For("staging", "acme/shop"); g.MinApprovals != 0 || len(g.Rules) != 0 {
		t.Errorf("staging adds requirements: %d %+v", g.MinApprovals, g.Rules)
	}
}

func TestObject(t *testing.T) {
	tests := []struct {
		name                         string
		cluster, repo                string
		group, kind, namespace, objN string
		want                         string // "" when allowed
	}{
		{"namespaced object in a matching namespace", "production", "acme/shop", "apps", "Deployment", "shop-prod", "web", ""},
		{"namespaced object elsewhere", "production", "acme/shop", "", "ConfigMap", "kube-system", "x",
			"namespace kube-system is not allowed for acme/shop on cluster production (server config clusters[0].repos[0].namespaces: shop-*)"},
		{"store namespace through a glob", "production", "acme/ops", "", "Secret", "slipway-store", "x", ""},
		{"store namespace refused to a glob-only entry", "production", "acme/shop", "", "Secret", "slipway-store", "x",
			"namespace slipway-store is slipway's own (server config store.namespace): not allowed for acme/shop on cluster production unless clusters[0].repos[0].namespaces names it"},
		{"own namespace refused even to *", "production", "acme/ops", "coordination.k8s.io", "Lease", "slipway-system", "x",
			"namespace slipway-system is slipway's own (the namespace slipway runs in): not allowed for acme/ops on cluster production unless clusters[0].repos[1].namespaces names it"},
		{"store namespace refused to the permissive form", "staging", "acme/shop", "", "Secret", "slipway-store", "x", "is slipway's own"},
		{"permissive form: any other namespace", "staging", "acme/shop", "", "ConfigMap", "kube-system", "x", ""},
		{"permissive form: any cluster-scoped kind", "staging", "acme/shop", "rbac.authorization.k8s.io", "ClusterRoleBinding", "", "x", ""},
		{"allowed kind", "production", "acme/shop", "rbac.authorization.k8s.io", "ClusterRole", "", "reader", ""},
		{"allowed kind name in another group", "production", "acme/shop", "evil.example.com", "ClusterRole", "", "x",
			"cluster-scoped kind ClusterRole.evil.example.com is not allowed for acme/shop on cluster production (server config clusters[0].repos[0].cluster_scoped: Namespace, ClusterRole.rbac.authorization.k8s.io)"},
		{"kind not listed", "production", "acme/shop", "rbac.authorization.k8s.io", "ClusterRoleBinding", "", "x", "cluster-scoped kind ClusterRoleBinding.rbac.authorization.k8s.io is not allowed"},
		{"no cluster-scoped kinds", "production", "acme/ops", "", "Namespace", "", "ops",
			"cluster-scoped kind Namespace is not allowed for acme/ops on cluster production (server config clusters[0].repos[1].cluster_scoped is empty)"},
		{"Namespace object in the namespaces", "production", "acme/shop", "", "Namespace", "", "shop-prod", ""},
		{"Namespace object outside them", "production", "acme/shop", "", "Namespace", "", "kube-system", "namespace kube-system is not allowed"},
		{"Namespace object of slipway's own, permissive form", "staging", "acme/web", "", "Namespace", "", "slipway-system", "is slipway's own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := grant(t, tt.cluster, tt.repo).Object(tt.group, tt.kind, tt.namespace, tt.objN)
			check(t, err, tt.want)
		})
	}
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name      string
		repo      string
		cluster   string
		namespace string
		named     string // service_account
		wantSA    string
		want      string
	}{
		{"default from a namespace pattern", "acme/shop", "production", "shop-prod", "", "shop-prod/deployer", ""},
		{"named and allowed", "acme/shop", "production", "shop-prod", "shop-tools/runner", "shop-tools/runner", ""},
		{"named by NAME in the environment's namespace", "acme/shop", "production", "shop-prod", "deployer", "shop-prod/deployer", ""},
		{"kube-system refused", "acme/shop", "production", "shop-prod", "kube-system/admin", "",
			"environment production: service account kube-system/admin is not allowed for acme/shop on cluster production (server config clusters[0].repos[0].service_accounts: shop-*/deployer, shop-tools/runner)"},
		{"environment namespace outside", "acme/shop", "production", "default", "", "",
			"environment production: namespace default is not allowed for acme/shop on cluster production (server config clusters[0].repos[0].namespaces: shop-*)"},
		{"no namespace: the pattern has no default", "acme/shop", "production", "", "", "", "names no service_account, and the server config's first one"},
		{"literal default", "acme/ops", "production", "ops", "", "ops/deployer", ""},
		{"entry without service accounts: slipway itself", "acme/bare", "production", "bare", "", "", ""},
		{"entry without service accounts refuses one", "acme/bare", "production", "bare", "bare/admin", "",
			"service account bare/admin is not allowed for acme/bare on cluster production (server config clusters[0].repos[2] names no service_accounts"},
		{"permissive form: any service account", "acme/web", "staging", "", "kube-system/admin", "kube-system/admin", ""},
		{"permissive form: slipway itself", "acme/web", "staging", "web", "", "", ""},
		{"permissive form: not slipway's namespace", "acme/web", "staging", "slipway-store", "", "", "is slipway's own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &repoconfig.Environment{Name: "production", Cluster: tt.cluster, Namespace: tt.namespace, ServiceAccount: tt.named}
			sa, err := grant(t, tt.cluster, tt.repo).Environment(env)
			check(t, err, tt.want)
			if sa.String() != tt.wantSA {
				t.Errorf("service account %q, want %q", sa, tt.wantSA)
			}
		})
	}
}

// Identity re-checks a resolved service account: a target asked for
// directly cannot skip Environment.
func TestIdentity(t *testing.T) {
	shop := grant(t, "production", "acme/shop")
	check(t, shop.Identity(repoconfig.ServiceAccount{}), "acme/shop must act as a service account on cluster production")
	check(t, shop.Identity(repoconfig.ServiceAccount{Namespace: "shop-x", Name: "deployer"}), "")
	check(t, shop.Identity(repoconfig.ServiceAccount{Namespace: "shop-x", Name: "admin"}), "service account shop-x/admin is not allowed")
	check(t, grant(t, "staging", "acme/shop").Identity(repoconfig.ServiceAccount{Namespace: "kube-system", Name: "admin"}), "")
}

func TestOwnNamespace(t *testing.T) {
	file := filepath.Join(t.TempDir(), "namespace")
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := ownNamespace(getenv, file); got != "" {
		t.Errorf("outside a cluster: %q", got)
	}
	if err := os.WriteFile(file, []byte("slipway-system\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ownNamespace(getenv, file); got != "slipway-system" {
		t.Errorf("from the file: %q", got)
	}
	env["POD_NAMESPACE"] = "from-env"
	if got := ownNamespace(getenv, file); got != "from-env" {
		t.Errorf("POD_NAMESPACE first: %q", got)
	}
}

func TestNewRefusesBadRule(t *testing.T) {
	cfg := testConfig()
	cfg.Clusters[1].Repos = []config.RepoEntry{{Repo: "acme/x", Namespaces: []string{"x"}, Rules: []repoconfig.Rule{{Name: "r", Expr: "object +"}}}}
	if _, err := NewBounds(cfg, ""); err == nil || !strings.Contains(err.Error(), "clusters[1].repos[0].rules[0]") {
		t.Errorf("New = %v, want the rule named", err)
	}
}

func check(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("refused: %v", err)
	case want != "" && err == nil:
		t.Errorf("allowed, want %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q, want %q", err, want)
	}
}
