package renderproc

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/render"
)

// The child renders with the capabilities the parent hands it (it has no
// cluster to ask), and the parent places hooks as it places objects: a
// hook that names no namespace is created in the environment's.
func TestChildUsesCapabilitiesAndHooksArePlaced(t *testing.T) {
	root := writeTree(t, map[string]string{
		"Chart.yaml": chartYAML,
		"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: caps}
data: {kube: {{ .Capabilities.KubeVersion.Version | quote }}, monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}}
`,
		"templates/hook.yaml": `apiVersion: batch/v1
kind: Job
metadata: {name: migrate, annotations: {helm.sh/hook: pre-upgrade}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: m}]}}}
`,
	})
	caps := &render.Capabilities{KubeVersion: "v1.37.1", APIVersions: []string{"v1", "monitoring.coreos.com/v1"}}
	res, err := Render(context.Background(), root, appEnv, render.Options{Scope: render.Offline, Capabilities: caps}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 1 || len(res.Skipped) != 1 {
		t.Fatalf("objects %d, hooks %d", len(res.Objects), len(res.Skipped))
	}
	data, _, _ := unstructured.NestedStringMap(res.Objects[0].Object.Object, "data")
	if data["kube"] != "v1.37.1" || data["monitoring"] != "true" {
		t.Errorf("rendered with %v, want the capabilities handed to the child", data)
	}
	if ns := res.Skipped[0].Object.GetNamespace(); ns != "shop" {
		t.Errorf("hook namespace %q, want the environment's", ns)
	}
}
