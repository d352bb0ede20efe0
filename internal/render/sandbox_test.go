package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// secret is content outside the repository that no render may reveal.
const secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: server-secret\nstringData:\n  token: do-not-leak\n"

// sandbox makes a temp dir holding repo/ and, beside it, outside/secret.yaml
// and outside/dir/. It returns the repository root and the outside dir.
func sandbox(t *testing.T) (repo, outside string) {
	t.Helper()
	base := t.TempDir()
	repo, outside = filepath.Join(base, "repo"), filepath.Join(base, "outside")
	writeFiles(t, outside, map[string]string{"secret.yaml": secret, "dir/cm.yaml": secret})
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	return repo, outside
}

// Nothing outside the repository may be read, by a path or through a
// symlink, whichever renderer reads it.
func TestSandbox(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, repo, outside string) *repoconfig.Environment
		want  string // in the error
	}{
		{
			name: "kustomize resource escaping by path",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - ../../../../../../../../etc/passwd\n"})
				return env("deploy/app", "")
			},
			want: "outside the repository",
		},
		{
			name: "kustomize resource escaping to a sibling of the repository",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - ../../../outside/secret.yaml\n"})
				return env("deploy/app", "")
			},
			want: "outside the repository",
		},
		{
			name: "kustomize base escaping by path",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - ../../../outside/dir\n"})
				return env("deploy/app", "")
			},
			want: "outside the repository",
		},
		{
			name: "kustomize resource through a symlink",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - secret.yaml\n"})
				symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(repo, "deploy/app/secret.yaml"))
				return env("deploy/app", "")
			},
			want: "deploy/app/secret.yaml is or passes through a symlink that leads outside the repository",
		},
		{
			name: "kustomize generator file through a relative symlink",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "configMapGenerator:\n  - name: c\n    files:\n      - token=token.txt\n"})
				symlink(t, "../../../outside/secret.yaml", filepath.Join(repo, "deploy/app/token.txt"))
				return env("deploy/app", "")
			},
			want: "symlink that leads outside",
		},
		{
			name: "kustomization itself a symlink",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, outside, map[string]string{"kustomization.yaml": "resources:\n  - secret.yaml\n"})
				symlink(t, filepath.Join(outside, "kustomization.yaml"), filepath.Join(repo, "deploy/app/kustomization.yaml"))
				return env("deploy/app", "")
			},
			want: "symlink that leads outside",
		},
		{
			name: "kustomize base directory through a symlink",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, outside, map[string]string{"base/kustomization.yaml": "resources:\n  - ../secret.yaml\n"})
				writeFiles(t, repo, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - ../base\n"})
				symlink(t, filepath.Join(outside, "base"), filepath.Join(repo, "deploy/base"))
				return env("deploy/app", "")
			},
			want: "symlink that leads outside",
		},
		{
			name: "plain file through a symlink",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(repo, "deploy/app/secret.yaml"))
				return env("deploy/app", "")
			},
			want: "symlink that leads outside",
		},
		{
			name: "plain environment directory through a symlink",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				symlink(t, filepath.Join(outside, "dir"), filepath.Join(repo, "deploy/app"))
				return env("deploy/app", "")
			},
			want: "symlink that leads outside",
		},
		{
			name: "plain file through a chain of symlinks",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				symlink(t, "../../hop", filepath.Join(repo, "deploy/app/a.yaml"))
				symlink(t, "../outside", filepath.Join(repo, "hop-dir"))
				symlink(t, "hop-dir/secret.yaml", filepath.Join(repo, "hop"))
				return env("deploy/app", "")
			},
			want: "symlink that leads outside",
		},
		{
			name: "helm template through a symlink",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n"})
				symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(repo, "deploy/chart/templates/secret.yaml"))
				return env("deploy/chart", "")
			},
			want: "symlink that leads outside",
		},
		{
			name: "helm templates directory through a symlink",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n"})
				symlink(t, filepath.Join(outside, "dir"), filepath.Join(repo, "deploy/chart/templates"))
				return env("deploy/chart", "")
			},
			want: "symlink that leads outside",
		},
		{
			name: "helm values file through a symlink",
			setup: func(t *testing.T, repo, outside string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n"})
				symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(repo, "deploy/chart/values-prod.yaml"))
				e := env("deploy/chart", "")
				e.Helm = &repoconfig.Helm{Values: []string{"values-prod.yaml"}}
				return e
			},
			want: "symlink that leads outside",
		},
		{
			name: "helm values file escaping by path",
			setup: func(t *testing.T, repo, _ string) *repoconfig.Environment {
				writeFiles(t, repo, map[string]string{"deploy/chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n"})
				e := env("deploy/chart", "")
				e.Helm = &repoconfig.Helm{Values: []string{"../../../outside/secret.yaml"}}
				return e
			},
			want: "outside the repository",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, outside := sandbox(t)
			e := tt.setup(t, repo, outside)
			err := renderError(t, repo, e, Options{})
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			for _, leak := range []string{"do-not-leak", outside} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q reveals %q", err, leak)
				}
			}
		})
	}
}

// A symlink cycle inside the repository is an error, not a hang.
func TestSandboxSymlinkLoop(t *testing.T) {
	repo, _ := sandbox(t)
	symlink(t, "b.yaml", filepath.Join(repo, "deploy/app/a.yaml"))
	symlink(t, "a.yaml", filepath.Join(repo, "deploy/app/b.yaml"))
	err := renderError(t, repo, env("deploy/app", ""), Options{})
	if !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Errorf("error %q, want a symlink loop reported", err)
	}
}
