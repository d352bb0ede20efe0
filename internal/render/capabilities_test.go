package render

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// capsChart branches on .Capabilities as charts with optional monitoring
// do, and records the Kubernetes version it was rendered for.
var capsChart = map[string]string{
	"deploy/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\nkubeVersion: \">=1.19.0-0\"\n",
	"deploy/app/templates/config.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: caps}
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}
`,
	"deploy/app/templates/monitor.yaml": `{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: app}
spec: {endpoints: [{port: http}], selector: {matchLabels: {app: app}}}
{{- end }}
`,
}

// monitoringCRD defines ServiceMonitor, served at v1 (v1alpha1 not served).
const monitoringCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, plural: servicemonitors}
  scope: Namespaced
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
  - {name: v1alpha1, served: false, storage: false, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`

// A chart renders with the cluster's capabilities when they are given, and
// with Helm's defaults when not; its own crds/ count as installed.
func TestHelmCapabilities(t *testing.T) {
	withMonitoring := &Capabilities{KubeVersion: "v1.37.2", APIVersions: []string{"v1", "v1/ConfigMap", "monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor"}}
	without := &Capabilities{KubeVersion: "v1.37.2", APIVersions: []string{"v1", "v1/ConfigMap"}}
	tests := []struct {
		name       string
		caps       *Capabilities
		crds       bool // the chart ships the CRD in crds/
		kube       string
		monitoring string
		wantKinds  []string
	}{
		{name: "helm defaults", kube: "v1.20.0", monitoring: "false", wantKinds: []string{"ConfigMap"}},
		{name: "cluster without the CRD", caps: without, kube: "v1.37.2", monitoring: "false", wantKinds: []string{"ConfigMap"}},
		{name: "cluster with the CRD", caps: withMonitoring, kube: "v1.37.2", monitoring: "true", wantKinds: []string{"ConfigMap", "ServiceMonitor"}},
		{name: "CRD from the chart's crds/", caps: without, crds: true, kube: "v1.37.2", monitoring: "true",
			wantKinds: []string{"CustomResourceDefinition", "ConfigMap", "ServiceMonitor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, capsChart)
			if tt.crds {
				writeFiles(t, root, map[string]string{"deploy/app/crds/monitor.yaml": monitoringCRD})
			}
			res, err := Render(context.Background(), root, env("deploy/app", "shop"), Options{Capabilities: tt.caps})
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range res.Objects {
				kinds = append(kinds, o.Object.GetKind())
			}
			if !slices.Equal(kinds, tt.wantKinds) {
				t.Errorf("kinds %q, want %q", kinds, tt.wantKinds)
			}
			cm := find(t, res.Objects, "ConfigMap", "caps")
			data, _, _ := unstructured.NestedStringMap(cm.Object.Object, "data")
			if data["kube"] != tt.kube || data["monitoring"] != tt.monitoring {
				t.Errorf("data %v, want kube %s and monitoring %s", data, tt.kube, tt.monitoring)
			}
		})
	}
}

// The CRD's unserved version is not among the versions crds/ add, and a
// chart's kubeVersion is weighed against the cluster's version.
func TestHelmCapabilitiesEdges(t *testing.T) {
	if got := crdAPIVersions([]byte(monitoringCRD)); !slices.Equal(got, []string{"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor"}) {
		t.Errorf("crd versions %q", got)
	}
	root := t.TempDir()
	writeFiles(t, root, capsChart)
	writeFiles(t, root, map[string]string{"deploy/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\nkubeVersion: \">=1.30.0-0\"\n"})
	e := env("deploy/app", "shop")
	if _, err := Render(context.Background(), root, e, Options{}); err == nil || !strings.Contains(err.Error(), "does not include v1.20.0") {
		t.Errorf("helm defaults: err %v, want the chart's kubeVersion refused", err)
	}
	if _, err := Render(context.Background(), root, e, Options{Capabilities: &Capabilities{KubeVersion: "v1.37.2"}}); err != nil {
		t.Errorf("cluster at v1.37.2: %v", err)
	}
	_, err := Render(context.Background(), root, e, Options{Capabilities: &Capabilities{KubeVersion: "not a version"}})
	var re *Error
	if err == nil || !strings.Contains(err.Error(), `the cluster's version "not a version"`) || !errors.As(err, &re) || re.File != "deploy/app/Chart.yaml" {
		t.Errorf("bad version: err %v", err)
	}
}
