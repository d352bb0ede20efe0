package render

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

func fluxEnv(path string) *repoconfig.Environment {
	e := env(path, "")
	e.Reconciler = &repoconfig.Reconciler{Flux: &repoconfig.FluxRef{Kind: repoconfig.FluxKustomization, Name: "apps", Namespace: "flux-system"}}
	return e
}

// A Flux environment without a kustomization is built as kustomize-controller
// builds it: every YAML file below the path, and every subdirectory with a
// kustomization through that kustomization, where plain YAML reads only
// the directory's own files.
func TestFluxGeneratedKustomization(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"apps/a.yaml":                   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n",
		"apps/nested/b.yml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n",
		"apps/base/kustomization.yaml":  "resources: [c.yaml]\nnamePrefix: base-\n",
		"apps/base/c.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n",
		"apps/base/not-listed.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray, namespace: shop}\n",
		"apps/notes.json":               `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "json", "namespace": "shop"}}`,
		"apps/README.md":                "# not a manifest\n",
		"empty/README.md":               "nothing here\n",
		"kustomized/kustomization.yaml": "resources: [d.yaml]\n",
		"kustomized/d.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: shop}\n",
		"kustomized/extra/e.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e, namespace: shop}\n",
	})
	ctx := context.Background()
	res, err := Render(ctx, root, fluxEnv("apps"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ConfigMap shop/a", "ConfigMap shop/b", "ConfigMap shop/base-c"}
	if got := refs(res.Objects); !slices.Equal(got, want) || res.Kind != KindKustomize {
		t.Errorf("flux render: %s %v, want kustomize %v", res.Kind, got, want)
	}

	plain, err := Render(ctx, root, env("apps", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := refs(plain.Objects); !slices.Equal(got, []string{"ConfigMap shop/a", "ConfigMap shop/json"}) {
		t.Errorf("plain render of the same path: %v", got)
	}

	// A kustomization of its own is used as is, by Flux and slipway alike.
	own, err := Render(ctx, root, fluxEnv("kustomized"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := refs(own.Objects); !slices.Equal(got, []string{"ConfigMap shop/d"}) {
		t.Errorf("kustomized: %v", got)
	}

	empty, err := Render(ctx, root, fluxEnv("empty"), Options{})
	if err != nil || len(empty.Objects) != 0 {
		t.Errorf("empty directory: %v %v", err, empty)
	}
}

// A file kustomize-controller would reject fails the plan the same way,
// naming the generated kustomization's directory; a symlink out of the
// repository is still refused.
func TestFluxGeneratedKustomizationErrors(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"apps/values.yaml": "replicas: 3\n",
	})
	rerr := renderError(t, root, fluxEnv("apps"), Options{})
	t.Log(rerr)
	if !strings.HasPrefix(rerr.File, "apps") {
		t.Errorf("error names %q: %v", rerr.File, rerr)
	}

	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\n"})
	writeFiles(t, root, map[string]string{"linked/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"})
	symlink(t, outside+"/secret.yaml", root+"/linked/evil.yaml")
	rerr = renderError(t, root, fluxEnv("linked"), Options{})
	t.Log(rerr)
	if strings.Contains(rerr.Error(), outside) {
		t.Errorf("error shows the server's path: %v", rerr)
	}
}
