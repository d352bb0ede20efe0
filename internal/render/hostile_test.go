package render

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// laughs is a "billion laughs" YAML body: levels anchors, each a list of
// nine aliases of the one before, expanding to 9^levels strings.
func laughs(levels int) string {
	var sb strings.Builder
	sb.WriteString("l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&sb, "l%d: &a%d [*a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d]\n", i, i, i-1)
	}
	return sb.String()
}

const chartYAML = "apiVersion: v2\nname: c\nversion: 0.1.0\n"

// A YAML bomb anywhere a renderer reads YAML is refused with an error
// naming the file, in bounded time and memory. kustomize expands aliases
// without a limit: before vetAliases, the kustomize resource case took
// over 2 GiB and did not finish in 20 s.
func TestYAMLBombRefused(t *testing.T) {
	bombCM := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n" + laughs(9) + "data:\n  k: v\n"
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
	tests := []struct {
		name   string
		files  map[string]string
		values []string // helm values files
		file   string   // the error names it
	}{
		{"plain manifest", map[string]string{"cm.yaml": bombCM}, nil, "deploy/app/cm.yaml"},
		{"kustomize resource", map[string]string{"kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": bombCM}, nil, "deploy/app/cm.yaml"},
		{"kustomize resource in a base", map[string]string{"kustomization.yaml": "resources: [base]\n", "base/kustomization.yaml": "resources: [cm.yaml]\n", "base/cm.yaml": bombCM}, nil, "deploy/app/base/cm.yaml"},
		{"kustomize patch", map[string]string{"kustomization.yaml": "resources: [cm.yaml]\npatches:\n  - path: patch.yaml\n", "cm.yaml": cm, "patch.yaml": bombCM}, nil, "deploy/app/patch.yaml"},
		{"kustomization", map[string]string{"kustomization.yaml": "resources: [cm.yaml]\n" + laughs(9), "cm.yaml": cm}, nil, "deploy/app/kustomization.yaml"},
		{"helm values file", map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": cm, "values-prod.yaml": laughs(9)}, []string{"values-prod.yaml"}, "deploy/app/values-prod.yaml"},
		{"helm chart values.yaml", map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": cm, "values.yaml": laughs(9)}, nil, "deploy/app/Chart.yaml"},
		{"helm Chart.yaml", map[string]string{"Chart.yaml": chartYAML + laughs(9), "templates/cm.yaml": cm}, nil, "deploy/app/Chart.yaml"},
		{"helm template output", map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": bombCM}, nil, "deploy/app/templates/cm.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, filepath.Join(root, "deploy/app"), tt.files)
			e := env("deploy/app", "")
			if tt.values != nil {
				e.Helm = &repoconfig.Helm{Values: tt.values}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := Render(ctx, root, e, Options{})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("rendered a YAML bomb")
			}
			rerr, ok := err.(*Error)
			if !ok || rerr.File != tt.file || !strings.Contains(strings.ToLower(err.Error()), "alias") {
				t.Errorf("error %q: want it at %s, about aliases", err, tt.file)
			}
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if alloc := (after.TotalAlloc - before.TotalAlloc) >> 20; alloc > 256 {
				t.Errorf("allocated %d MiB", alloc)
			}
		})
	}
}

// A few anchors, as people write them, still render.
func TestModestAliasesRender(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"deploy/app/kustomization.yaml": "resources: [cm.yaml]\n",
		"deploy/app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels: &l {app: shop, tier: web}\n  annotations: *l\ndata: *l\n",
	})
	res, err := Render(context.Background(), root, env("deploy/app", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Objects[0].Object.GetAnnotations()["tier"]; got != "web" {
		t.Errorf("alias not expanded: annotations %v", res.Objects[0].Object.GetAnnotations())
	}
}

// Escapes not covered by TestSandbox: a Helm dependency pointing out of the
// repository, kustomize fields that take paths, absolute paths.
func TestHostileReferencesRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, repo, outside string) *repoconfig.Environment
		file  string // the error is located here
		want  string
	}{
		{
			name: "helm dependency file://../.. not vendored",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/chart/Chart.yaml": chartYAML + "dependencies:\n  - name: outside\n    version: 0.1.0\n    repository: file://../../../outside/chart\n"})
				return env("deploy/chart", "")
			},
			file: "deploy/chart/Chart.yaml",
			want: "dependency outside: file://../../../outside/chart is outside the repository",
		},
		{
			name: "helm dependency vendored as a symlink out of the repository",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, outside, map[string]string{"chart/Chart.yaml": "apiVersion: v2\nname: outside\nversion: 0.1.0\n", "chart/templates/s.yaml": secret})
				writeFiles(t, repo, map[string]string{"deploy/chart/Chart.yaml": chartYAML + "dependencies:\n  - name: outside\n    version: 0.1.0\n    repository: file://../../../outside/chart\n"})
				symlink(t, filepath.Join(outside, "chart"), filepath.Join(repo, "deploy/chart/charts/outside"))
				return env("deploy/chart", "")
			},
			file: "deploy/chart/charts/outside",
			want: "symlink that leads outside",
		},
		{
			name: "helm .Files reaching out through a symlinked file",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{
					"deploy/chart/Chart.yaml":          chartYAML,
					"deploy/chart/templates/leak.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  x: {{ .Files.Get \"files/token\" | quote }}\n",
				})
				symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(repo, "deploy/chart/files/token"))
				return env("deploy/chart", "")
			},
			file: "deploy/chart/files/token",
			want: "symlink that leads outside",
		},
		{
			name: "kustomize generator env file outside",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "secretGenerator:\n  - name: s\n    envs: [../../../outside/secret.yaml]\n"})
				return env("deploy/app", "")
			},
			want: "outside the repository",
		},
		{
			name: "kustomize absolute resource path",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - " + filepath.Join(outside, "secret.yaml") + "\n"})
				return env("deploy/app", "")
			},
			want: "outside the repository",
		},
		{
			name: "kustomize openapi schema outside",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "openapi:\n  path: ../../../outside/secret.yaml\nresources: [cm.yaml]\n", "deploy/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"})
				return env("deploy/app", "")
			},
			want: "outside the repository",
		},
		{
			name: "kustomize patch outside",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "resources: [cm.yaml]\npatches:\n  - path: ../../../outside/secret.yaml\n", "deploy/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"})
				return env("deploy/app", "")
			},
			want: "outside the repository",
		},
		{
			name: "kustomize remote base through git::",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - git::https://example.com/org/repo.git//base?ref=main\n"})
				return env("deploy/app", "")
			},
			file: "deploy/app/kustomization.yaml",
			want: "remote bases are disabled",
		},
		{
			name: "kustomize KRM starlark function",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{
					"deploy/app/kustomization.yaml": "generators: [fn.yaml]\n",
					"deploy/app/fn.yaml": "apiVersion: example.com/v1\nkind: Star\nmetadata:\n  name: fn\n  annotations:\n" +
						"    config.kubernetes.io/function: |\n      starlark:\n        path: script.star\n",
					"deploy/app/script.star": "print('hi')\n",
				})
				return env("deploy/app", "")
			},
			want: "external plugins disabled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, outside := sandbox(t)
			err := renderError(t, repo, tt.setup(t, repo, outside), Options{})
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if tt.file != "" && err.File != tt.file {
				t.Errorf("error %q is at %q, want %q", err, err.File, tt.file)
			}
			if err.File == "" {
				t.Errorf("error %q names no file", err)
			}
			for _, leak := range []string{"do-not-leak", outside, repo} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q reveals %q", err, leak)
				}
			}
		})
	}
}
