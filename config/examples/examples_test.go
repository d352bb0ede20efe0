package examples

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// The documentation and `make demo` point at these files: they must stay a
// valid repository config, render, and pass their own rules.

func shopConfig(t *testing.T) *repoconfig.Config {
	t.Helper()
	files, err := Shop()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := repoconfig.Parse(repoconfig.FileName, []byte(files[repoconfig.FileName]))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestShopConfig(t *testing.T) {
	cfg := shopConfig(t)
	staging, ok := cfg.Environment("staging")
	if !ok || staging.Mode != repoconfig.ModeBeforeMerge || staging.Policy.Approvals != 1 || len(staging.Policy.Rules) == 0 {
		t.Errorf("staging: %+v", staging)
	}
	prod, ok := cfg.Environment("production")
	if !ok || prod.Mode != repoconfig.ModeOnMerge || !slices.Equal(prod.DependsOn, []string{"staging"}) || !prod.Production {
		t.Errorf("production: %+v", prod)
	}
	if got := cfg.Order(cfg.Names()); slices.Index(got, "staging") > slices.Index(got, "production") {
		t.Errorf("order %v puts production first", got)
	}
}

// TestShopRenders renders every environment as slipway would and checks
// what each holds, and that the rules of .slipway.yaml pass at main.
func TestShopRenders(t *testing.T) {
	cfg := shopConfig(t)
	rules, err := policy.CompileRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  string
		kind string
		want []string // Kind/name, sorted
	}{
		{"staging", render.KindKustomize, []string{"ConfigMap/promo-banner", "Deployment/web", "Namespace/shop-staging", "Secret/db-credentials", "Service/web"}},
		{"production", render.KindKustomize, []string{"ConfigMap/promo-banner", "Deployment/web", "Namespace/shop-production", "Secret/db-credentials", "Service/web"}},
		{"cache-staging", render.KindHelm, []string{"Service/cache", "StatefulSet/cache"}},
		{"cache-production", render.KindHelm, []string{"Service/cache", "StatefulSet/cache"}},
	}
	if len(tests) != len(cfg.Environments) {
		t.Fatalf("the shop has %d environments, the test knows %d", len(cfg.Environments), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			env, ok := cfg.Environment(tt.env)
			if !ok {
				t.Fatalf("no environment %s", tt.env)
			}
			res, err := render.Render(context.Background(), "shop", env, render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Kind != tt.kind {
				t.Errorf("rendered as %s, want %s", res.Kind, tt.kind)
			}
			var got []string
			var objs []*unstructured.Unstructured
			for _, o := range res.Objects {
				got = append(got, o.Object.GetKind()+"/"+o.Object.GetName())
				objs = append(objs, o.Object)
				// An object naming no namespace gets the environment's.
				if ns := o.Object.GetNamespace(); ns != "" && ns != env.Namespace {
					t.Errorf("%s/%s in namespace %q, want %q or none", o.Object.GetKind(), o.Object.GetName(), ns, env.Namespace)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("objects %v, want %v", got, tt.want)
			}
			for _, it := range policy.CheckRules(context.Background(), rules.For(tt.env), objs) {
				if !it.Met {
					t.Errorf("rule %s fails at main: %+v", it.Name, it)
				}
			}
		})
	}
}

func TestServerConfigLoads(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, kubeconfig := filepath.Join(dir, "key.pem"), filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	// It names files under /etc/slipway; swap in real ones.
	text := strings.NewReplacer("/etc/slipway/private-key.pem", keyPath, "/etc/slipway/kubeconfig", kubeconfig).Replace(string(data))
	srv, err := config.Parse(ServerConfigName, []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Every cluster the shop targets is there and lets acme/shop use it.
	for _, env := range shopConfig(t).Environments {
		i := slices.IndexFunc(srv.Clusters, func(c config.Cluster) bool { return c.Name == env.Cluster })
		if i < 0 {
			t.Errorf("environment %s targets cluster %s, which server.yaml does not define", env.Name, env.Cluster)
			continue
		}
		if _, _, ok := srv.Clusters[i].Entry("acme/shop"); !ok {
			t.Errorf("cluster %s does not allow acme/shop: %v", env.Cluster, srv.Clusters[i].RepoPatterns())
		}
	}
	if srv.Store.Kind != config.StoreBolt {
		t.Errorf("store %q", srv.Store.Kind)
	}
}
