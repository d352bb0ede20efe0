package kube

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery/fake"
	kubetesting "k8s.io/client-go/testing"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// monitoredChart renders a ServiceMonitor only where the cluster serves
// monitoring.coreos.com/v1, as charts with optional monitoring do.
var monitoredChart = map[string]string{
	"Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
	"templates/config.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: caps}
data: {kube: {{ .Capabilities.KubeVersion.Version | quote }}}
`,
	"templates/monitor.yaml": `{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: app}
spec: {endpoints: [{port: http}]}
{{- end }}
`,
}

const serviceMonitorCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, plural: servicemonitors}
  scope: Namespaced
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`

// A chart that branches on .Capabilities.APIVersions renders on the test
// cluster what it would render when installed there: without the CRD no
// ServiceMonitor; once an apply has created the CRD, one, at once rather
// than after the capabilities' TTL. It renders through the bounded render
// child, which is handed the capabilities and never talks to the cluster.
func TestChartRendersWithClusterCapabilities(t *testing.T) {
	kube := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := t.TempDir()
	for name, content := range monitoredChart {
		p := filepath.Join(root, "deploy", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := &repoconfig.Environment{Name: "staging", Path: "deploy", Namespace: "shop"}
	renderKinds := func(caps *render.Capabilities) []string {
		t.Helper()
		res, err := renderproc.Render(ctx, root, env, render.Options{Capabilities: caps}, renderproc.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, o := range res.Objects {
			kinds = append(kinds, o.Object.GetKind())
			if o.Object.GetKind() == "ConfigMap" {
				if got, _, _ := unstructured.NestedString(o.Object.Object, "data", "kube"); got != caps.KubeVersion {
					t.Errorf(".Capabilities.KubeVersion.Version = %q, want the cluster's %q", got, caps.KubeVersion)
				}
			}
		}
		return kinds
	}

	target, err := NewClusterTarget(kube.Config(), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, err := target.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := kube.Client().Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if before.KubeVersion != sv.GitVersion || !slices.Contains(before.APIVersions, "apps/v1/Deployment") {
		t.Fatalf("capabilities %s with %d API versions, want the server's %s and apps/v1/Deployment", before.KubeVersion, len(before.APIVersions), sv.GitVersion)
	}
	if got := renderKinds(before); !slices.Equal(got, []string{"ConfigMap"}) {
		t.Errorf("without the CRD: %q, want only the ConfigMap", got)
	}

	// An apply that creates the CRD makes the next render see it, well
	// within the capabilities' TTL.
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(serviceMonitorCRD), &crd.Object); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
		_ = kube.Dynamic().Resource(gvr).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
	})
	crdEnv := &repoconfig.Environment{Name: "crds", Namespace: testenv.NewNamespace(t, kube)}
	p, objs, err := target.ComputeWithObjects(ctx, crdEnv, plan.Basis{Repository: "acme/shop", Commit: "c0ffee"}, &render.Result{Objects: []render.Object{{Object: crd}}})
	if err != nil {
		t.Fatal(err)
	}
	if res := target.Apply(ctx, crdEnv, p, objs); res.Failed() {
		t.Fatalf("apply the CRD: %s", res.Err)
	}
	var after *render.Capabilities
	for deadline := time.Now().Add(forgetWindow); ; time.Sleep(200 * time.Millisecond) {
		if after, err = target.Capabilities(ctx); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(after.APIVersions, "monitoring.coreos.com/v1") || time.Now().After(deadline) {
			break
		}
	}
	if got := renderKinds(after); !slices.Equal(got, []string{"ConfigMap", "ServiceMonitor"}) {
		t.Errorf("after an apply created the CRD: %q, want the ConfigMap and the ServiceMonitor", got)
	}
}

// Capabilities are discovered once per TTL, again after Forget, and a
// failed discovery is not kept.
func TestCapabilitiesCache(t *testing.T) {
	dc := &fake.FakeDiscovery{Fake: &kubetesting.Fake{}, FakedServerVersion: &version.Info{GitVersion: "v1.37.0"}}
	dc.Resources = []*metav1.APIResourceList{{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{{Name: "deployments", Kind: "Deployment"}, {Name: "deployments/scale", Kind: "Scale"}}}}
	c := newCapabilities(dc)
	now := time.Unix(0, 0)
	c.now = func() time.Time { return now }
	versions := func() []string {
		t.Helper()
		got, err := c.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return got.APIVersions
	}
	if got := versions(); !slices.Equal(got, []string{"apps/v1", "apps/v1/Deployment", "apps/v1/Scale"}) {
		t.Errorf("versions %q", got)
	}
	dc.Resources = append(dc.Resources, &metav1.APIResourceList{GroupVersion: "monitoring.coreos.com/v1", APIResources: []metav1.APIResource{{Name: "servicemonitors", Kind: "ServiceMonitor"}}})
	now = now.Add(CapabilitiesTTL - time.Second)
	if got := versions(); len(got) != 3 {
		t.Errorf("within the TTL: %q, want the cached answer", got)
	}
	c.Forget()
	if got := versions(); !slices.Contains(got, "monitoring.coreos.com/v1/ServiceMonitor") {
		t.Errorf("after Forget: %q", got)
	}
	dc.Resources = dc.Resources[:1]
	if got := versions(); len(got) != 3 {
		t.Errorf("just after Forget: %q, want a fresh discovery each time (discovery may lag a new CRD)", got)
	}
	dc.Resources = append(dc.Resources, &metav1.APIResourceList{GroupVersion: "monitoring.coreos.com/v1", APIResources: []metav1.APIResource{{Name: "servicemonitors", Kind: "ServiceMonitor"}}})
	now = now.Add(forgetWindow)
	if got := versions(); len(got) != 3 {
		t.Errorf("after the forget window: %q, want the last answer cached again", got)
	}
	now = now.Add(CapabilitiesTTL)
	if got := versions(); len(got) != 5 {
		t.Errorf("past the TTL: %q, want a fresh discovery", got)
	}
}
