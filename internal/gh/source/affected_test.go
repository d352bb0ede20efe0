package source

import (
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/affected"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
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
	base := w.Sim.Head("acme/shop", "main")
	baseTree := w.tree(t, "acme/shop", base)
	cfg, err := w.fetch.Config(t.Context(), "acme", "shop", base)
	if err != nil {
		t.Fatal(err)
	}
	baseFiles, baseErrs := affected.Files(t.Context(), baseTree, cfg, render.Options{}, renderproc.Limits{})
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
			head := w.Push(t, tt.branch, "alice", tt.files)
			n := w.OpenPR(t, tt.branch, "alice", nil)
			changed, err := w.fetch.ChangedFiles(t.Context(), "acme", "shop", n)
			if err != nil {
				t.Fatal(err)
			}
			headFiles, headErrs := affected.Files(t.Context(), w.tree(t, "acme/shop", head), cfg, render.Options{}, renderproc.Limits{})
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
			if got := affected.Environments(cfg, changed, baseFiles, headFiles); !slices.Equal(got, tt.want) {
				t.Errorf("Affected = %q, want %q (changed %q)", got, tt.want, changed)
			}
		})
	}
}
