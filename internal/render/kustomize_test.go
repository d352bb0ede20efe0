package render

import (
	"context"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestKustomize(t *testing.T) {
	res, err := Render(context.Background(), "testdata/kustomize", env("deploy/staging", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := refs(res.Objects)
	if len(got) != 3 || !strings.HasPrefix(got[0], "ConfigMap shop-staging/shop-config-") || got[1] != "Service shop-staging/shop" || got[2] != "Deployment shop-staging/shop" {
		t.Fatalf("objects = %q; want the generated ConfigMap, the Service and the Deployment, all in shop-staging", got)
	}
	// The overlay's patch applies to the base's Deployment.
	dep := find(t, res.Objects, "Deployment", "shop").Object
	if replicas, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); replicas != 3 {
		t.Errorf("replicas = %d, want 3 from the staging patch", replicas)
	}
	if dep.GetLabels()["app"] != "shop" {
		t.Errorf("labels = %v, want the base's app=shop", dep.GetLabels())
	}
	// The generator read its file.
	cm := res.Objects[0].Object
	if data, _, _ := unstructured.NestedString(cm.Object, "data", "app.properties"); data != "currency=EUR\n" {
		t.Errorf("generated data = %q", data)
	}
	// Every file kustomize read, the base's included; the base's unused
	// file is not.
	want := []string{
		"deploy/base/deployment.yaml",
		"deploy/base/kustomization.yaml",
		"deploy/base/service.yaml",
		"deploy/staging/config/app.properties",
		"deploy/staging/kustomization.yaml",
		"deploy/staging/replicas.yaml",
	}
	if !slices.Equal(res.Files, want) {
		t.Errorf("Files = %q\nwant    %q", res.Files, want)
	}
}

// The kustomization's namespace wins over the environment's default.
func TestKustomizeNamespaceKept(t *testing.T) {
	res, err := Render(context.Background(), "testdata/kustomize", env("deploy/staging", "default-ns"), Options{Scope: builtinScoper()})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		if ns := o.Object.GetNamespace(); ns != "shop-staging" {
			t.Errorf("%s %s in namespace %q, want shop-staging from the kustomization", o.Object.GetKind(), o.Object.GetName(), ns)
		}
	}
}

func TestKustomizeErrorNamesKustomization(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"deploy/app/kustomization.yaml": "resources:\n  - missing.yaml\n",
	})
	err := renderError(t, root, env("deploy/app", ""), Options{})
	if err.File != "deploy/app/kustomization.yaml" || !strings.Contains(err.Msg, "missing.yaml") {
		t.Errorf("error %q: want it at deploy/app/kustomization.yaml, naming missing.yaml", err)
	}
	if strings.Contains(err.Msg, root) {
		t.Errorf("error %q shows the checkout's absolute path", err)
	}
}

// Plugins run programs or containers named by the PR: only kustomize's
// built-in generators and transformers may run, and an attempt is an error.
func TestKustomizePluginsRefused(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			name: "exec generator",
			files: map[string]string{
				"kustomization.yaml": "generators:\n  - gen.yaml\n",
				"gen.yaml":           "apiVersion: someteam.example.com/v1\nkind: SecretsFromVault\nmetadata:\n  name: gen\n",
			},
			want: "external plugins disabled",
		},
		{
			name: "KRM exec function transformer",
			files: map[string]string{
				"kustomization.yaml": "resources:\n  - cm.yaml\ntransformers:\n  - fn.yaml\n",
				"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
				"fn.yaml": "apiVersion: example.com/v1\nkind: Touch\nmetadata:\n  name: fn\n  annotations:\n" +
					"    config.kubernetes.io/function: |\n      exec:\n        path: ./pwn.sh\n",
			},
			want: "external plugins disabled",
		},
		{
			name: "KRM container function generator",
			files: map[string]string{
				"kustomization.yaml": "generators:\n  - fn.yaml\n",
				"fn.yaml": "apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: fn\n  annotations:\n" +
					"    config.kubernetes.io/function: |\n      container:\n        image: example.com/evil:1\n",
			},
			want: "external plugins disabled",
		},
		{
			name: "helmCharts",
			files: map[string]string{
				"kustomization.yaml": "helmCharts:\n  - name: redis\n    repo: https://charts.example.com\n    version: 1.0.0\n",
			},
			want: "helmCharts would run the helm program",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			app := filepath.Join(root, "deploy", "app")
			files := map[string]string{"pwn.sh": "#!/bin/sh\ntouch \"$(dirname \"$0\")/pwned\"\n"}
			for p, c := range tt.files {
				files[p] = c
			}
			writeFiles(t, app, files)
			if err := os.Chmod(filepath.Join(app, "pwn.sh"), 0o755); err != nil {
				t.Fatal(err)
			}
			err := renderError(t, root, env("deploy/app", ""), Options{})
			if !strings.Contains(err.Msg, tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if _, statErr := os.Stat(filepath.Join(app, "pwned")); statErr == nil {
				t.Error("the plugin ran")
			}
		})
	}
}

// Remote references are refused before kustomize tries to fetch them: a
// clone or download from untrusted input, and a hang or obscure failure
// where there is no network.
func TestKustomizeRemoteRefused(t *testing.T) {
	tests := []struct {
		name, kustomization string
	}{
		{"github base", "resources:\n  - github.com/org/repo//deploy?ref=v1\n"},
		{"https resource", "resources:\n  - https://example.com/x.yaml\n"},
		{"scp-style git base", "resources:\n  - git@github.com:org/repo.git/deploy\n"},
		{"deprecated bases", "bases:\n  - https://github.com/org/repo//deploy\n"},
		{"component", "components:\n  - https://github.com/org/repo//component\n"},
		{"generator file", "configMapGenerator:\n  - name: c\n    files:\n      - key=https://example.com/secret\n"},
		{"patch", "patches:\n  - path: https://example.com/patch.yaml\n"},
		{"file scheme", "resources:\n  - file:///etc/kubernetes\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{"deploy/app/kustomization.yaml": tt.kustomization})
			start := time.Now()
			err := renderError(t, root, env("deploy/app", ""), Options{})
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v; a refusal must not wait for the network", d)
			}
			if err.File != "deploy/app/kustomization.yaml" || !strings.Contains(err.Msg, "vendor it into the repository") && !strings.Contains(err.Msg, "file://") {
				t.Errorf("error %q: want it at the kustomization, saying remote bases are disabled", err)
			}
		})
	}
}

// A remote base in a local base is caught too, when kustomize reaches it.
func TestKustomizeRemoteInBaseRefused(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"deploy/base/kustomization.yaml":    "resources:\n  - https://example.com/x.yaml\n",
		"deploy/staging/kustomization.yaml": "resources:\n  - ../base\n",
	})
	err := renderError(t, root, env("deploy/staging", ""), Options{})
	if err.File != "deploy/base/kustomization.yaml" || !strings.Contains(err.Msg, "https://example.com/x.yaml") {
		t.Errorf("error %q: want it at the base's kustomization, naming the URL", err)
	}
}

func TestKustomizeRemoteAllowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\n"))
	}))
	defer srv.Close()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - " + srv.URL + "/cm.yaml\n"})

	err := renderError(t, root, env("deploy/app", ""), Options{})
	if !strings.Contains(err.Msg, "remote bases are disabled") {
		t.Errorf("error %q, want remote bases disabled by default", err)
	}

	res, rerr := Render(context.Background(), root, env("deploy/app", ""), Options{AllowRemoteBases: true})
	if rerr != nil {
		t.Fatal(rerr)
	}
	if got := refs(res.Objects); !slices.Equal(got, []string{"ConfigMap /remote"}) {
		t.Errorf("objects = %v", got)
	}
}

// Even with remote bases allowed, a ref git would take for an option is
// refused: kustomize passes it to git fetch without "--".
func TestKustomizeRemoteOptionInjection(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"deploy/app/kustomization.yaml": "resources:\n  - https://github.com/org/repo//deploy?ref=--upload-pack=touch%20/tmp/pwned\n",
	})
	err := renderError(t, root, env("deploy/app", ""), Options{AllowRemoteBases: true})
	if !strings.Contains(err.Msg, "looks like a git option") {
		t.Errorf("error %q, want the ref refused", err)
	}
}

// With remote bases allowed, kustomize clones a git base and reads it from
// its clone, which the jail admits; the clone is removed afterwards. The
// "remote" is a local repository served by git http-backend.
func TestKustomizeRemoteGitBase(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("this test serves a git repository and needs git, which slipway's tests require (githubsim too): install git")
	}
	work := t.TempDir()
	upstream := filepath.Join(work, "upstream")
	writeFiles(t, upstream, map[string]string{
		"base/kustomization.yaml": "resources:\n  - cm.yaml\n",
		"base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\n",
	})
	served := filepath.Join(work, "served")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(upstream, "init", "-q", "-b", "main")
	git(upstream, "add", ".")
	git(upstream, "commit", "-q", "-m", "base")
	git(work, "clone", "-q", "--bare", upstream, filepath.Join(served, "repo.git"))
	gitPath, _ := exec.LookPath("git")
	srv := httptest.NewServer(&cgi.Handler{
		Path: gitPath, Args: []string{"http-backend"},
		Env:    []string{"GIT_PROJECT_ROOT=" + served, "GIT_HTTP_EXPORT_ALL=1"},
		Stderr: io.Discard, // kustomize first tries the URL as a file, which git rejects
	})
	defer srv.Close()

	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "kustomize-*"))
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"deploy/app/kustomization.yaml": "resources:\n  - " + srv.URL + "/repo.git//base?ref=main\n"})
	res, err := Render(context.Background(), root, env("deploy/app", ""), Options{AllowRemoteBases: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := refs(res.Objects); !slices.Equal(got, []string{"ConfigMap /from-git"}) {
		t.Errorf("objects = %v", got)
	}
	if want := []string{"deploy/app/kustomization.yaml"}; !slices.Equal(res.Files, want) {
		t.Errorf("Files = %q, want only the repository's %q", res.Files, want)
	}
	if after, _ := filepath.Glob(filepath.Join(os.TempDir(), "kustomize-*")); len(after) > len(before) {
		t.Errorf("kustomize left its clone behind: %v", after)
	}
}
