package workflow

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipwayhq/slipway/internal/affected"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// scopedCluster answers discovery for the kinds of prerenderFiles, tells a
// Kubernetes version that is not Helm's default, and remembers the render
// each plan was computed from.
type scopedCluster struct{ got *render.Result }

func (c *scopedCluster) Scope() render.Scoper { return builtinScope{} }

func (c *scopedCluster) Capabilities(context.Context) (*render.Capabilities, error) {
	return &render.Capabilities{KubeVersion: "v1.99.0", APIVersions: []string{"v1", "v1/ConfigMap"}}, nil
}

func (c *scopedCluster) Compute(_ context.Context, env *repoconfig.Environment, b plan.Basis, r *render.Result) (*plan.Plan, error) {
	c.got = r
	return &plan.Plan{Environment: env.Name, Commit: b.Commit}, nil
}

type builtinScope struct{}

func (builtinScope) Namespaced(gvk schema.GroupVersionKind) (bool, error) {
	return gvk.Kind != "Namespace" && gvk.Kind != "ClusterRole", nil
}

// prerenderFiles: a Kustomize overlay that sets its namespace and a plain
// directory whose namespaced objects name none (the environment's namespace
// fills it in) beside cluster-scoped ones, listed out of apply order.
var prerenderFiles = map[string]string{
	".slipway.yaml": `version: 1
environments:
  - {name: overlay, path: deploy/overlay, cluster: c, namespace: shop}
  - {name: plain, path: deploy/plain, cluster: c, namespace: team}
  - {name: chart, path: deploy/chart, cluster: c, namespace: charts}
`,
	"deploy/chart/Chart.yaml": "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
	"deploy/chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster\n" +
		"data:\n  version: {{ .Capabilities.KubeVersion.Version | quote }}\n",
	"deploy/base/kustomization.yaml":    "resources: [cm.yaml]\n",
	"deploy/base/cm.yaml":               configMap("shared", "v1"),
	"deploy/overlay/kustomization.yaml": "namespace: shop-overlay\nresources: [../base, extra.yaml]\n",
	"deploy/overlay/extra.yaml":         configMap("extra", "v2"),
	"deploy/plain/all.yaml": configMap("z-config", "v1") + "---\n" +
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules: []\n---\n" +
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n---\n" +
		configMap("a-config", "v1"),
}

// A plan given the environment's render from the affected computation
// (PlanOptions.Rendered) computes from exactly what its own render would
// have given it: namespaces filled in by the cluster's scope, apply order,
// the files read, and for a Helm chart the cluster's .Capabilities, which
// the affected computation renders without (so a chart renders again).
func TestUnitPlanFromPrerenderMatchesOwnRender(t *testing.T) {
	dir := t.TempDir()
	for name, content := range prerenderFiles {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := repoconfig.Parse(repoconfig.FileName, []byte(prerenderFiles[".slipway.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	renders, errs := affected.Renders(ctx, dir, cfg, render.Options{}, renderproc.Limits{})
	if len(errs) > 0 {
		t.Fatalf("render: %v", errs)
	}
	for _, name := range cfg.Names() {
		t.Run(name, func(t *testing.T) {
			var own, pre scopedCluster
			if _, err := PlanEnvironment(ctx, dir, cfg, name, "c0ffee", oneTarget{&own}, PlanOptions{Repository: "acme/shop"}); err != nil {
				t.Fatal(err)
			}
			opts := PlanOptions{Repository: "acme/shop", Rendered: renders[name]}
			if _, err := PlanEnvironment(ctx, dir, cfg, name, "c0ffee", oneTarget{&pre}, opts); err != nil {
				t.Fatal(err)
			}
			taken := pre.got == renders[name]
			switch helm := renders[name].Kind == render.KindHelm; {
			case helm && taken:
				t.Error("the plan took the affected computation's render of a Helm chart, made without the cluster's capabilities")
			case !helm && !taken:
				t.Error("the plan rendered again instead of taking the render it was given")
			}
			if !reflect.DeepEqual(pre.got, own.got) {
				t.Errorf("plan from the prerender got\n%s\nits own render gave\n%s", describe(pre.got), describe(own.got))
			}
			for _, o := range own.got.Objects {
				if o.Object.GetKind() == "ConfigMap" && o.Object.GetNamespace() == "" {
					t.Errorf("ConfigMap %s has no namespace: the comparison is of unplaced renders", o.Object.GetName())
				}
				if v, _, _ := unstructured.NestedString(o.Object.Object, "data", "version"); o.Object.GetName() == "cluster" && v != "v1.99.0" {
					t.Errorf("the chart rendered Kubernetes %q, want the cluster's v1.99.0: the comparison is of renders without capabilities", v)
				}
			}
		})
	}
}

func describe(r *render.Result) string {
	out := "files [" + strings.Join(r.Files, ", ") + "]\n"
	for _, o := range r.Objects {
		out += "  " + o.Object.GetKind() + " " + o.Object.GetNamespace() + "/" + o.Object.GetName() + "\n"
	}
	return out
}

var (
	_ kube.Target  = (*scopedCluster)(nil)
	_ kube.Capable = (*scopedCluster)(nil)
)

// askedTrees is a treeSource that counts the checkouts asked for, by commit.
type askedTrees struct {
	*treeSource
	mu    sync.Mutex
	asked map[string]int
}

func (a *askedTrees) Tree(ctx context.Context, owner, name, sha string) (string, func(), error) {
	a.mu.Lock()
	a.asked[sha]++
	a.mu.Unlock()
	return a.treeSource.Tree(ctx, owner, name, sha)
}

// A change every environment's head render reads (a shared base) affects
// them all whatever the base commit read, so the base is not checked out and
// rendered; a change that leaves an environment undecided still renders
// the base, and the same environments are planned as before.
func TestUnitSharedBaseChangeSkipsBaseRenders(t *testing.T) {
	const config = `version: 1
environments:
  - {name: a, path: deploy/a, cluster: test}
  - {name: b, path: deploy/b, cluster: test}
`
	files := map[string]string{
		".slipway.yaml":                  config,
		"deploy/base/kustomization.yaml": "resources: [cm.yaml]\n",
		"deploy/base/cm.yaml":            configMap("shared", "v1"),
		"deploy/a/kustomization.yaml":    "namespace: a\nresources: [../base]\n",
		"deploy/b/kustomization.yaml":    "namespace: b\nresources: [../base, own.yaml]\n",
		"deploy/b/own.yaml":              configMap("own", "v1"),
	}
	for _, tt := range []struct {
		name, file string
		planned    []string
		baseTrees  int
	}{
		{"shared base", "deploy/base/cm.yaml", []string{"a", "b"}, 0},
		{"one environment's file", "deploy/b/own.yaml", []string{"b"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newUnitWorld(t)
			trees := &askedTrees{treeSource: w.src, asked: map[string]int{}}
			w.s.Source = trees
			w.commit(baseSHA, files)
			w.gh.SetDefaultBranch("main", baseSHA)
			w.commit(head1SHA, with(files, map[string]string{tt.file: configMap("changed", "v2")}))
			w.openUnitPR(1, "alice", baseSHA, head1SHA, tt.file)
			if err := w.s.PlanPR(context.Background(), PlanRequest{Number: 1, Auto: true}); err != nil {
				t.Fatal(err)
			}
			for _, env := range []string{"a", "b"} {
				r, _ := w.runNamed(head1SHA, checkPlanPrefix+env)
				if want := slices.Contains(tt.planned, env); (r.Conclusion == "success") != want {
					t.Errorf("%s's plan run: %+v, want planned %v", env, r, want)
				}
			}
			if got := trees.asked[baseSHA]; got != tt.baseTrees {
				t.Errorf("the base was checked out %d times, want %d", got, tt.baseTrees)
			}
		})
	}
}
