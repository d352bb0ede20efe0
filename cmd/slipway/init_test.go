package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// slipway init --from-cluster writes an environment for each Argo CD
// Application of this repository (not another's), and the file parses.
func TestInitFromCluster(t *testing.T) {
	env := testenv.Get(t)
	ctx := context.Background()
	if err := env.InstallArgoCDApplications(ctx); err != nil {
		t.Fatal(err)
	}
	ns := testenv.NewNamespace(t, env)
	apps := env.Dynamic().Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}).Namespace(ns)
	for name, url := range map[string]string{"shop-prod": "https://github.com/acme/shop.git", "payments": "https://github.com/acme/payments.git"} {
		app := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{"project": "default", "source": map[string]any{"repoURL": url, "path": "clusters/prod"},
				"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "shop"}},
		}}
		if _, err := apps.Create(ctx, app, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	repo := t.TempDir()
	p := startSlipway(t, nil, "init", "--from-cluster", "--repo", repo, "--repository", "acme/shop", "--kubeconfig", env.Kubeconfig(), "--cluster", "production")
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr)
	}
	data, err := os.ReadFile(filepath.Join(repo, repoconfig.FileName))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := repoconfig.Parse(repoconfig.FileName, data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	e, ok := cfg.Environment("shop-prod")
	if len(cfg.Environments) != 1 || !ok || e.Path != "clusters/prod" || e.Cluster != "production" || e.Reconciler.ArgoCD.Namespace != ns {
		t.Errorf("wrote:\n%s", data)
	}

	// A second run does not overwrite what may have been edited since.
	p = startSlipway(t, nil, "init", "--from-cluster", "--repo", repo, "--repository", "acme/shop", "--kubeconfig", env.Kubeconfig(), "--cluster", "production")
	if code := p.wait(t, time.Minute); code != exitError || !strings.Contains(p.stderr.String(), "exists: pass --force") {
		t.Errorf("exit %d: %s", code, p.stderr)
	}
}
