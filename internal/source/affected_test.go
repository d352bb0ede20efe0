package source

import (
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/githubsim"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

var shop = map[string]string{
	".slipway.yaml": `version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: c
  - name: production
    path: deploy/production
    cluster: c
  - name: tools
    path: deploy/tools
    cluster: c
`,
	"README.md":                      "# shop\n",
	"deploy/base/kustomization.yaml": "resources:\n  - deployment.yaml\n  - service.yaml\n",
	"deploy/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: shop, image: shop:1.0}]
`,
	"deploy/base/service.yaml":             "apiVersion: v1\nkind: Service\nmetadata:\n  name: shop\nspec:\n  ports: [{port: 80}]\n",
	"deploy/staging/kustomization.yaml":    "namespace: shop-staging\nresources:\n  - ../base\n",
	"deploy/production/kustomization.yaml": "namespace: shop-prod\nresources:\n  - ../base\n",
	"deploy/tools/debug.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: debug\n",
}

// TestAffectedByPullRequest runs the whole path a plan takes: the trees at
// base and head from GitHub, the base's config, every environment rendered
// on both sides, the PR's files.
func TestAffectedByPullRequest(t *testing.T) {
	w := newWorld(t)
	w.repo(t, "acme/shop", shop)
	base := w.sim.Head("acme/shop", "main")
	baseTree := w.tree(t, "acme/shop", base)
	cfg, err := w.fetch.Config(t.Context(), "acme", "shop", base)
	if err != nil {
		t.Fatal(err)
	}
	baseFiles, baseErrs := RenderedFiles(t.Context(), baseTree, cfg, renderproc.Limits{})
	if len(baseErrs) > 0 {
		t.Fatalf("base renders failed: %v", baseErrs)
	}
	if got := baseFiles["staging"]; !slices.Contains(got, "deploy/base/deployment.yaml") {
		t.Fatalf("staging read %q, want the shared base among them", got)
	}

	tests := []struct {
		name      string
		branch    string
		files     map[string]string
		want      []string
		headFails []string // environments whose head render fails
	}{
		{"shared base changed", "bump", map[string]string{
			"deploy/base/deployment.yaml": strings.Replace(shop["deploy/base/deployment.yaml"], "shop:1.0", "shop:1.1", 1),
		}, []string{"staging", "production"}, nil},
		{"outside every environment", "docs", map[string]string{"README.md": "# the shop\n"}, nil, nil},
		{"new file in an environment's directory", "notes", map[string]string{"deploy/staging/NOTES.md": "why\n"}, []string{"staging"}, nil},
		{"new manifest in a plain environment", "tool", map[string]string{"deploy/tools/more.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\n"}, []string{"tools"}, nil},
		// The base still lists service.yaml, so the head renders fail and
		// only the base's renders know who read it.
		{"deleted file only the base rendered", "drop", map[string]string{"deploy/base/service.yaml": githubsim.Deleted},
			[]string{"staging", "production"}, []string{"staging", "production"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := w.push(t, "acme/shop", tt.branch, tt.files)
			n := w.openPR(t, "acme/shop", tt.branch)
			changed, err := w.fetch.ChangedFiles(t.Context(), "acme", "shop", n)
			if err != nil {
				t.Fatal(err)
			}
			headFiles, headErrs := RenderedFiles(t.Context(), w.tree(t, "acme/shop", head), cfg, renderproc.Limits{})
			var failed []string
			for _, name := range cfg.Names() {
				if headErrs[name] != nil {
					failed = append(failed, name)
					if _, ok := headFiles[name]; ok {
						t.Errorf("%s both failed and rendered", name)
					}
				}
			}
			if !slices.Equal(failed, tt.headFails) {
				t.Errorf("head renders failed for %q, want %q (%v)", failed, tt.headFails, headErrs)
			}
			if got := Affected(cfg, changed, baseFiles, headFiles); !slices.Equal(got, tt.want) {
				t.Errorf("Affected = %q, want %q (changed %q)", got, tt.want, changed)
			}
		})
	}
}

func TestAffected(t *testing.T) {
	cfg, err := repoconfig.Parse(repoconfig.FileName, []byte(`version: 1
environments:
  - name: a
    path: deploy/a/
    cluster: c
  - name: b
    path: ./deploy/b
    cluster: c
  - name: root
    path: .
    cluster: c
`))
	if err != nil {
		t.Fatal(err)
	}
	noRoot := &repoconfig.Config{File: repoconfig.File{Environments: cfg.Environments[:2]}}
	base := map[string][]string{"a": {"deploy/a/k.yaml", "shared/x.yaml"}, "b": {"deploy/b/k.yaml"}}
	head := map[string][]string{"a": {"deploy/a/k.yaml"}, "b": {"deploy/b/k.yaml", "shared/y.yaml"}}

	tests := []struct {
		name     string
		cfg      *repoconfig.Config
		changed  []string
		base     map[string][]string
		head     map[string][]string
		affected []string
	}{
		{"nothing changed", noRoot, nil, base, head, nil},
		{"a root path takes every change", cfg, []string{"README.md"}, base, head, []string{"root"}},
		{"config order, not change order", cfg, []string{"deploy/b/k.yaml", "deploy/a/k.yaml"}, base, head, []string{"a", "b", "root"}},
		{"path matches whole directories", noRoot, []string{"deploy/a2/k.yaml", "deploy/b.yaml"}, base, head, nil},
		{"paths are cleaned", noRoot, []string{"deploy/a/new.yaml", "deploy/b/new.yaml"}, nil, nil, []string{"a", "b"}},
		{"read only at the base", noRoot, []string{"shared/x.yaml"}, base, head, []string{"a"}},
		{"read only at the head", noRoot, []string{"shared/y.yaml"}, base, head, []string{"b"}},
		{"failed on both sides, path still counts", noRoot, []string{"deploy/b/k.yaml", "shared/x.yaml"}, nil, nil, []string{"b"}},
		// A change that breaks a render (or pushes it past a limit) cannot
		// hide the files it touches: the environment is planned, and fails.
		{"rendered at the base, failed at the head", noRoot, []string{"shared/z.yaml"}, base, map[string][]string{"b": head["b"]}, []string{"a"}},
		{"failed at the head but nothing changed", noRoot, nil, base, map[string][]string{"b": head["b"]}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Affected(tt.cfg, tt.changed, tt.base, tt.head); !slices.Equal(got, tt.affected) {
				t.Errorf("Affected = %q, want %q", got, tt.affected)
			}
		})
	}
}
