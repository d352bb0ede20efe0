package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

const secretValue = "hunter2-do-not-print"

// writeRepo lays out a repository with one plain-YAML environment: a git
// checkout of acme/shop (its origin remote names the repository whose
// inventories slipway uses), with nothing committed.
func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	repo := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"remote", "add", "origin", "git@github.com:acme/shop.git"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	for name, content := range files {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

func shopRepo(t *testing.T, ns string) string {
	return writeRepo(t, map[string]string{
		".slipway.yaml": fmt.Sprintf("version: 1\nenvironments:\n  - name: dev\n    path: deploy/dev\n    cluster: testenv\n    namespace: %s\n", ns),
		"deploy/dev/app.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: web-credentials
stringData:
  password: ` + secretValue + "\n",
	})
}

func TestPlanCommand(t *testing.T) {
	env := testenv.Get(t)
	ns := testenv.NewNamespace(t, env)
	repo := shopRepo(t, ns)
	kc := env.Kubeconfig()

	t.Run("changes exit 2 and never print the secret", func(t *testing.T) {
		for _, output := range []string{"text", "markdown", "json"} {
			p := startSlipway(t, nil, "plan", "--repo", repo, "--kubeconfig", kc, "-o", output)
			if code := p.wait(t, time.Minute); code != exitChanges {
				t.Fatalf("-o %s: exit %d, want %d\n%s", output, code, exitChanges, p.stderr)
			}
			out := p.stdout.String() + p.stderr.String()
			if strings.Contains(out, secretValue) {
				t.Fatalf("-o %s printed the Secret's value", output)
			}
			if !strings.Contains(out, "web-credentials") || !strings.Contains(out, "web") {
				t.Errorf("-o %s does not name the objects:\n%s", output, out)
			}
		}
	})

	t.Run("json summary counts the creates", func(t *testing.T) {
		p := startSlipway(t, nil, "plan", "dev", "--repo", repo, "--kubeconfig", kc, "-o", "json")
		p.wait(t, time.Minute)
		var got struct {
			Plans []struct {
				Environment string
				Summary     struct{ Create, Update, Delete, Unchanged, Error int }
			}
		}
		if err := json.Unmarshal([]byte(p.stdout.String()), &got); err != nil {
			t.Fatalf("%v\n%s", err, p.stdout)
		}
		if len(got.Plans) != 1 || got.Plans[0].Environment != "dev" || got.Plans[0].Summary.Create != 2 {
			t.Errorf("summary %+v", got)
		}
	})

	t.Run("no changes exit 0", func(t *testing.T) {
		// What an apply of environment dev would leave: its objects, labelled
		// as members of dev's ApplySet.
		member := `"labels":{"applyset.kubernetes.io/part-of":"` + plan.ApplySetID(plan.InventoryName("acme/shop", "dev"), ns) + `"}`
		serverSideApply(t, env, ns, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web",`+member+`},"data":{"greeting":"hello"}}`, "configmaps", "web")
		serverSideApply(t, env, ns, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"web-credentials",`+member+`},"stringData":{"password":"`+secretValue+`"}}`, "secrets", "web-credentials")
		p := startSlipway(t, nil, "plan", "--repo", repo, "--kubeconfig", kc)
		if code := p.wait(t, time.Minute); code != exitNoChanges {
			t.Fatalf("exit %d, want 0\n%s%s", code, p.stdout, p.stderr)
		}
	})

	t.Run("unknown environment", func(t *testing.T) {
		p := startSlipway(t, nil, "plan", "prod", "--repo", repo, "--kubeconfig", kc)
		if code := p.wait(t, time.Minute); code != exitError || !strings.Contains(p.stderr.String(), `no environment "prod"`) {
			t.Fatalf("exit %d: %s", code, p.stderr)
		}
	})

	t.Run("render error exits 1 and names the file and line", func(t *testing.T) {
		bad := writeRepo(t, map[string]string{
			".slipway.yaml":       "version: 1\nenvironments:\n  - {name: dev, path: deploy/dev, cluster: testenv}\n",
			"deploy/dev/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [\n",
		})
		p := startSlipway(t, nil, "plan", "--repo", bad, "--kubeconfig", kc)
		if code := p.wait(t, time.Minute); code != exitError {
			t.Fatalf("exit %d", code)
		}
		if !strings.Contains(p.stdout.String(), "deploy/dev/bad.yaml:") {
			t.Errorf("error does not locate the file:\n%s", p.stdout)
		}
	})
}

func TestValidateCommand(t *testing.T) {
	good := shopRepo(t, "shop")
	p := startSlipway(t, nil, "validate", "--repo", good)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "dev: plain, 2 objects") || strings.Contains(p.stdout.String(), "capabilities") {
		t.Errorf("output %q", p.stdout)
	}
	// Without a cluster a chart's .Capabilities are Helm's defaults, and
	// validate says so.
	chart := writeRepo(t, map[string]string{
		".slipway.yaml":           "version: 1\nenvironments:\n  - {name: dev, path: chart, cluster: c}\n",
		"chart/Chart.yaml":        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\ndata: {v: {{ .Capabilities.KubeVersion.Version | quote }}}\n",
	})
	p = startSlipway(t, nil, "validate", "--repo", chart)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr)
	}
	if out := p.stdout.String(); !strings.Contains(out, "dev: helm, 1 objects") || !strings.Contains(out, "Helm's default capabilities (Kubernetes v1.20.0") {
		t.Errorf("output %q does not say the chart was rendered with Helm's default capabilities", out)
	}

	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"config error with line", map[string]string{".slipway.yaml": "version: 1\nenvironments:\n  - name: dev\n    path: d\n    clustr: x\n"}, ".slipway.yaml:5: environments[0].clustr: unknown key"},
		{"render error with line", map[string]string{
			".slipway.yaml": "version: 1\nenvironments:\n  - {name: dev, path: d, cluster: c}\n",
			"d/a.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: ConfigMap\nmetadata:\n  name: b\n",
		}, "d/a.yaml:6"},
		{"rule that does not compile", map[string]string{
			".slipway.yaml": "version: 1\nenvironments:\n  - name: dev\n    path: d\n    cluster: c\n    policy:\n      rules:\n        - {name: broken, expr: \"object.kind ==\"}\n",
			"d/a.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
		}, ".slipway.yaml:8: environments[0].policy.rules[0]"},
		{"rule violated names the object", map[string]string{
			".slipway.yaml": "version: 1\nenvironments:\n  - name: dev\n    path: d\n    cluster: c\n    namespace: shop\n    policy:\n      rules:\n        - {name: named-a, match: {namespaces: [shop]}, expr: \"object.metadata.name == 'a'\", message: only a}\n",
			"d/a.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
		}, "dev: rule \"named-a\": 1 of 2 objects violates: only a\n  ConfigMap/shop/b"},
		{"kustomize path escape refused", map[string]string{
			".slipway.yaml":        "version: 1\nenvironments:\n  - {name: dev, path: d, cluster: c}\n",
			"d/kustomization.yaml": "resources:\n  - ../../../../../../etc/passwd\n",
		}, "dev:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startSlipway(t, nil, "validate", "--repo", writeRepo(t, tt.files))
			if code := p.wait(t, time.Minute); code != exitError {
				t.Fatalf("exit %d", code)
			}
			if !strings.Contains(p.stderr.String(), tt.want) {
				t.Errorf("stderr %q does not contain %q", p.stderr, tt.want)
			}
		})
	}
}

func serverSideApply(t *testing.T, env *testenv.Env, ns, body, resource, name string) {
	t.Helper()
	force := true
	_, err := env.Client().CoreV1().RESTClient().Patch(types.ApplyPatchType).
		Namespace(ns).Resource(resource).Name(name).
		Param("fieldManager", "slipway").Param("force", fmt.Sprint(force)).
		Body([]byte(body)).Do(context.Background()).Get()
	if err != nil {
		t.Fatal(err)
	}
}
