package render

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// helmEnv is the shop chart's environment with the staging values.
func helmEnv(values ...string) *repoconfig.Environment {
	e := env("deploy/shop", "shop-staging")
	e.Helm = &repoconfig.Helm{Release: "shop", Values: values}
	return e
}

func TestHelm(t *testing.T) {
	res, err := Render(context.Background(), "testdata/helm", helmEnv("values-staging.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CustomResourceDefinition /widgets.example.com", // from crds/, first
		"ConfigMap /shop-config",
		"Deployment /shop",
		"StatefulSet /shop-cache", // the vendored subchart
		"Widget /shop-widget",
	}
	if got := refs(res.Objects); !slices.Equal(got, want) {
		t.Errorf("objects = %q\nwant      %q", got, want)
	}
	// The pre-install hook is listed but not applied; NOTES.txt is no object.
	if got := refs(res.Skipped); !slices.Equal(got, []string{"Job /shop-migrate"}) {
		t.Errorf("skipped = %q, want the migrate hook", got)
	}

	dep := find(t, res.Objects, "Deployment", "shop")
	if replicas, _, _ := unstructured.NestedInt64(dep.Object.Object, "spec", "replicas"); replicas != 3 {
		t.Errorf("replicas = %d, want 3 from values-staging.yaml", replicas)
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	if c["image"] != "shop:1.0" || c["env"].([]any)[0].(map[string]any)["value"] != "staging" {
		t.Errorf("container = %v, want values.yaml's image and values-staging.yaml's tier", c)
	}
	if dep.File != "deploy/shop/templates/deployment.yaml" || dep.Line != 0 {
		t.Errorf("Deployment at %s:%d, want its template and no line", dep.File, dep.Line)
	}
	crd := find(t, res.Objects, "CustomResourceDefinition", "widgets.example.com")
	if crd.File != "deploy/shop/crds/widgets.yaml" || crd.Line != 1 {
		t.Errorf("CRD at %s:%d, want deploy/shop/crds/widgets.yaml:1", crd.File, crd.Line)
	}
	sts := find(t, res.Objects, "StatefulSet", "shop-cache")
	if sts.File != "deploy/shop/charts/cache/templates/statefulset.yaml" || sts.Object.GetLabels()["size"] != "small" {
		t.Errorf("subchart StatefulSet at %s with labels %v; want its template and the parent's cache.size", sts.File, sts.Object.GetLabels())
	}

	// No cluster: lookup finds nothing and DNS is not consulted.
	cm := find(t, res.Objects, "ConfigMap", "shop-config").Object
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	if data["dbSecretFound"] != "no" || data["host"] != "" || data["namespace"] != "shop-staging" {
		t.Errorf("config data = %v; want lookup empty, no DNS answer, the environment's namespace", data)
	}

	want = []string{
		"deploy/shop/.helmignore",
		"deploy/shop/Chart.yaml",
		"deploy/shop/charts/cache/Chart.yaml",
		"deploy/shop/charts/cache/templates/statefulset.yaml",
		"deploy/shop/charts/cache/values.yaml",
		"deploy/shop/crds/widgets.yaml",
		"deploy/shop/templates/NOTES.txt",
		"deploy/shop/templates/_helpers.tpl",
		"deploy/shop/templates/config.yaml",
		"deploy/shop/templates/deployment.yaml",
		"deploy/shop/templates/migrate-job.yaml",
		"deploy/shop/templates/widget.yaml",
		"deploy/shop/values-staging.yaml",
		"deploy/shop/values.yaml",
	}
	if !slices.Equal(res.Files, want) {
		t.Errorf("Files = %q\nwant    %q", res.Files, want)
	}
}

func TestHelmDefaults(t *testing.T) {
	// No helm settings: the chart's values, the environment's name as release.
	res, err := Render(context.Background(), "testdata/helm", env("deploy/shop", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dep := find(t, res.Objects, "Deployment", "test")
	if replicas, _, _ := unstructured.NestedInt64(dep.Object.Object, "spec", "replicas"); replicas != 1 {
		t.Errorf("replicas = %d, want 1 from values.yaml", replicas)
	}
	cm := find(t, res.Objects, "ConfigMap", "test-config").Object
	if ns, _, _ := unstructured.NestedString(cm.Object, "data", "namespace"); ns != "default" {
		t.Errorf(".Release.Namespace = %q, want default as helm template has it", ns)
	}
}

func TestHelmErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, chart string)
		values []string
		file   string
		want   string
	}{
		{
			name:   "missing dependency",
			change: func(t *testing.T, chart string) { removeAll(t, filepath.Join(chart, "charts")) },
			file:   "deploy/shop/Chart.yaml",
			want:   "dependencies cache are in Chart.yaml but not in charts/",
		},
		{
			name: "template error",
			change: func(t *testing.T, chart string) {
				writeFiles(t, chart, map[string]string{"templates/bad.yaml": "kind: {{ required \"set .Values.missing\" .Values.missing }}\n"})
			},
			file: "deploy/shop",
			want: "templates/bad.yaml:1",
		},
		{
			name: "rendered output not YAML",
			change: func(t *testing.T, chart string) {
				writeFiles(t, chart, map[string]string{"templates/bad.yaml": "a: b\n c: d\n"})
			},
			file: "deploy/shop/templates/bad.yaml",
			want: "line 2 of the rendered output",
		},
		{
			name:   "missing values file",
			values: []string{"values-prod.yaml"},
			file:   "deploy/shop/values-prod.yaml",
			want:   "does not exist",
		},
		{
			name: "values file not YAML",
			change: func(t *testing.T, chart string) {
				writeFiles(t, chart, map[string]string{"values-bad.yaml": "a: 1\nb: [\n"})
			},
			values: []string{"values-bad.yaml"},
			file:   "deploy/shop/values-bad.yaml",
			want:   "invalid YAML",
		},
		{
			name: "values break the schema",
			change: func(t *testing.T, chart string) {
				writeFiles(t, chart, map[string]string{"values.schema.json": `{"type": "object", "properties": {"replicas": {"type": "string"}}}`})
			},
			file: "deploy/shop",
			want: "at '/replicas': got number, want string",
		},
		{
			name: "schema refers to a file on the server",
			change: func(t *testing.T, chart string) {
				writeFiles(t, chart, map[string]string{"values.schema.json": `{"$ref": "file:///etc/passwd"}`})
			},
			file: "deploy/shop",
			want: "follows only references within the schema",
		},
		{
			name: "library chart",
			change: func(t *testing.T, chart string) {
				writeFiles(t, chart, map[string]string{"Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\ntype: library\n"})
			},
			file: "deploy/shop/Chart.yaml",
			want: "library chart",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyTree(t, "testdata/helm")
			if tt.change != nil {
				tt.change(t, filepath.Join(root, "deploy", "shop"))
			}
			err := renderError(t, root, helmEnv(tt.values...), Options{})
			if err.File != tt.file || !strings.Contains(err.Msg, tt.want) {
				t.Errorf("error %q: want it at %s, saying %q", err, tt.file, tt.want)
			}
		})
	}
}

func removeAll(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
}

// A values.schema.json error never quotes the value it rejects: values are
// often secrets, and the error goes to a check run.
func TestHelmSchemaErrorsHideValues(t *testing.T) {
	const password = "Hunter2-s3cret"
	tests := []struct {
		name, schema, want string
	}{
		{"pattern", `{"properties": {"password": {"type": "string", "pattern": "^[a-z]+$"}}}`, "at '/password': value does not match pattern '^[a-z]+$' (the value is not shown)"},
		{"pattern in a nested allOf", `{"allOf": [{"properties": {"password": {"pattern": "^x"}}}]}`, "value does not match pattern '^x'"},
		{"type", `{"properties": {"password": {"type": "integer"}}}`, "at '/password': got string, want integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyTree(t, "testdata/helm")
			writeFiles(t, filepath.Join(root, "deploy", "shop"), map[string]string{
				"values.schema.json": tt.schema,
				"values-prod.yaml":   "password: " + password + "\n",
			})
			err := renderError(t, root, helmEnv("values-prod.yaml"), Options{})
			if !strings.Contains(err.Msg, tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q quotes the value", err)
			}
		})
	}
}
