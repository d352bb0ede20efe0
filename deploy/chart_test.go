package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// chartDir is the Helm chart; fullValues turns every knob it has.
const (
	chartDir   = "chart"
	fullValues = "testdata/chart-full-values.yaml"
)

// helmOnlyLabels are Helm's bookkeeping, which the Kustomize base has no
// use for; every other field of every object must be the same in both.
var helmOnlyLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}

// renderChart renders the chart as slipway renders a repository's chart:
// release and namespace from the environment, values files relative to the
// chart.
func renderChart(t *testing.T, release, namespace string, values ...string) *render.Result {
	t.Helper()
	env := &repoconfig.Environment{Name: release, Path: chartDir, Namespace: namespace, Helm: &repoconfig.Helm{Release: release, Values: values}}
	res, err := render.Render(context.Background(), ".", env, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != render.KindHelm {
		t.Fatalf("%s rendered as %s, want helm", chartDir, res.Kind)
	}
	return res
}

func objectKey(u *unstructured.Unstructured) string {
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// The one source of truth: the chart with its default values, released as
// slipway in the namespace slipway, is the Kustomize base object for
// object and field for field, but for Helm's labels and the Namespace
// (a chart leaves creating its namespace to `helm install
// --create-namespace` or to you). Change one without the other and this
// fails, naming the object and showing both.
func TestChartDefaultsAreTheKustomizeBase(t *testing.T) {
	base := map[string]*unstructured.Unstructured{}
	for _, o := range renderBase(t).Objects {
		if o.Object.GetKind() == "Namespace" {
			continue
		}
		base[objectKey(o.Object)] = o.Object
	}
	chart := map[string]*unstructured.Unstructured{}
	for _, o := range renderChart(t, "slipway", namespace).Objects {
		u := o.Object.DeepCopy()
		labels := u.GetLabels()
		for _, l := range helmOnlyLabels {
			if _, ok := labels[l]; !ok {
				t.Errorf("%s: no %s label", objectKey(u), l)
			}
			delete(labels, l)
		}
		u.SetLabels(labels)
		chart[objectKey(u)] = u
	}
	for key, want := range base {
		got, ok := chart[key]
		if !ok {
			t.Errorf("deploy/ has %s, the chart's defaults do not", key)
			continue
		}
		if !reflect.DeepEqual(got.Object, want.Object) {
			t.Errorf("%s differs:\n--- deploy/ (Kustomize)\n%s\n--- deploy/chart (Helm defaults)\n%s", key, toYAML(t, want), toYAML(t, got))
		}
	}
	for key := range chart {
		if _, ok := base[key]; !ok {
			t.Errorf("the chart's defaults have %s, deploy/ does not", key)
		}
	}
}

func toYAML(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	out, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// `helm lint --strict`, through the Helm SDK: nothing above information
// (the chart has no icon), with the default values and with every knob.
func TestChartLints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values string
	}{{"defaults", ""}, {"full values", fullValues}} {
		t.Run(tc.name, func(t *testing.T) {
			vals := map[string]any{}
			if tc.values != "" {
				vals = readValues(t, tc.values)
			}
			l := lint.All(chartDir, vals, "slipway", false)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		t.Fatal(err)
	}
	// lint wants JSON-shaped values, as helm's own -f reading gives.
	js, err := json.Marshal(vals)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(js, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// What every knob renders to, read from the objects.
func TestChartFullValues(t *testing.T) {
	res := renderChart(t, "ops", "ops", "../"+fullValues)
	kinds := map[string]int{}
	for _, o := range res.Objects {
		kinds[o.Object.GetKind()]++
	}
	for _, want := range []string{"Secret", "ServiceMonitor", "Ingress", "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount"} {
		if kinds[want] != 1 {
			t.Errorf("%d %s, want 1", kinds[want], want)
		}
	}
	var ing struct {
		Spec struct {
			Rules []struct {
				HTTP struct {
					Paths []struct{ Path, PathType string }
				}
			}
		}
	}
	findJSON(t, res, "Ingress", "ops-slipway", &ing)
	if len(ing.Spec.Rules) != 1 || len(ing.Spec.Rules[0].HTTP.Paths) != 1 || ing.Spec.Rules[0].HTTP.Paths[0].Path != "/api/github/hook" || ing.Spec.Rules[0].HTTP.Paths[0].PathType != "Exact" {
		t.Errorf("the Ingress routes %+v, want exactly /api/github/hook", ing.Spec.Rules)
	}
	var sm struct {
		Spec struct {
			Selector  struct{ MatchLabels map[string]string }
			Endpoints []struct{ Port, Path string }
		}
	}
	findJSON(t, res, "ServiceMonitor", "ops-slipway", &sm)
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want port metrics, /metrics", sm.Spec.Endpoints)
	}
	var metricsSvc, webSvc struct {
		Metadata struct{ Labels map[string]string }
	}
	findJSON(t, res, "Service", "ops-slipway-metrics", &metricsSvc)
	findJSON(t, res, "Service", "ops-slipway", &webSvc)
	if !selects(sm.Spec.Selector.MatchLabels, metricsSvc.Metadata.Labels) || selects(sm.Spec.Selector.MatchLabels, webSvc.Metadata.Labels) {
		t.Errorf("the ServiceMonitor selects %v: it must pick the metrics Service only", sm.Spec.Selector.MatchLabels)
	}
	var sec struct {
		StringData map[string]string `json:"stringData"`
	}
	findJSON(t, res, "Secret", "ops-slipway", &sec)
	for _, key := range []string{"config.yaml", "private-key.pem", "production.kubeconfig"} {
		if sec.StringData[key] == "" {
			t.Errorf("the Secret has no %s", key)
		}
	}
	var role struct {
		Rules []struct{ ResourceNames []string }
	}
	findJSON(t, res, "ClusterRole", "ops-slipway-impersonate", &role)
	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].ResourceNames, []string{"deployer", "shop-deployer"}) {
		t.Errorf("impersonation rules %+v, want deployer and shop-deployer by name", role.Rules)
	}
}

// Bad values are refused by the chart's schema with the key named, before
// anything reaches a cluster.
func TestChartRefusesBadValues(t *testing.T) {
	tests := []struct{ name, values, want string }{
		{"misspelt key", "replicas: 3\n", "replicas"},
		{"wrong type", "replicaCount: two\n", "replicaCount"},
		{"token without audience", "clusterTokens: [{name: prod}]\n", "audience"},
		{"secret without config", "secret: {create: true}\n", "secret.config is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(filepath.Join(dir, chartDir), os.DirFS(chartDir)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(tt.values), 0o644); err != nil {
				t.Fatal(err)
			}
			env := &repoconfig.Environment{Name: "bad", Path: chartDir, Namespace: "ops", Helm: &repoconfig.Helm{Release: "ops", Values: []string{"../bad.yaml"}}}
			_, err := render.Render(context.Background(), dir, env, render.Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("render error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func findJSON(t *testing.T, res *render.Result, kind, name string, out any) {
	t.Helper()
	for _, o := range res.Objects {
		if o.Object.GetKind() == kind && o.Object.GetName() == name {
			js, err := json.Marshal(o.Object.Object)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(js, out); err != nil {
				t.Fatalf("%s %s: %v", kind, name, err)
			}
			return
		}
	}
	var have []string
	for _, o := range res.Objects {
		have = append(have, fmt.Sprintf("%s %s", o.Object.GetKind(), o.Object.GetName()))
	}
	t.Fatalf("no %s %s in %v", kind, name, have)
}
