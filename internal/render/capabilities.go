package render

import (
	"bytes"
	"fmt"
	"path"
	"slices"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// Capabilities is what a chart's .Capabilities tells of the cluster it is
// rendered for: the Kubernetes version and the API versions it serves. It
// is plain data, so that the parent, which holds the cluster's
// credentials, can discover it and pass it to the render child, which holds
// none.
type Capabilities struct {
	// KubeVersion is the server's git version, as "v1.37.1".
	KubeVersion string `json:"kube_version"`
	// APIVersions are "group/version" and "group/version/Kind" entries, as
	// Helm's action.GetVersionSet lists them ("v1" and "v1/Pod" for the
	// core group).
	APIVersions []string `json:"api_versions"`
}

// DefaultCapabilitiesNote says what a render without a cluster assumes, for
// the output of commands that render that way (slipway validate).
func DefaultCapabilitiesNote() string {
	d := chartutil.DefaultCapabilities
	return fmt.Sprintf("Helm charts are rendered with Helm's default capabilities (Kubernetes %s, API versions built into Helm, no custom resources), not a cluster's", d.KubeVersion.Version)
}

// helmCapabilities is what .Capabilities holds for chart ch: Helm's
// defaults when c is nil (as `helm template` without --kube-version and
// --api-versions), the cluster's otherwise, plus the API versions the
// chart's own crds/ define, because those CRDs are applied before the
// templates' objects (helm install too installs them first and asks
// discovery again), so the chart is rendered as it will be once they exist.
func (c *Capabilities) helmCapabilities(ch *chart.Chart) (*chartutil.Capabilities, error) {
	if c == nil {
		return chartutil.DefaultCapabilities.Copy(), nil
	}
	kv, err := chartutil.ParseKubeVersion(c.KubeVersion)
	if err != nil {
		return nil, fmt.Errorf("the cluster's version %q: %w", c.KubeVersion, err)
	}
	versions := slices.Clone(c.APIVersions)
	for _, crd := range ch.CRDObjects() {
		versions = append(versions, crdAPIVersions(crd.File.Data)...)
	}
	slices.Sort(versions)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	caps.APIVersions = chartutil.VersionSet(slices.Compact(versions))
	return caps, nil
}

// crdAPIVersions lists "group/version" and "group/version/Kind" for each
// version served by the CRDs in a crds/ file. A document that is not a
// readable CRD adds nothing: decoding the file for the plan reports it.
func crdAPIVersions(data []byte) []string {
	var out []string
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			return out
		}
		u := unstructured.Unstructured{Object: doc}
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(doc, "spec", "group")
		kind, _, _ := unstructured.NestedString(doc, "spec", "names", "kind")
		versions, _, _ := unstructured.NestedSlice(doc, "spec", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			name, _ := m["name"].(string)
			if served, ok := m["served"].(bool); name == "" || (ok && !served) {
				continue
			}
			gv := path.Join(group, name)
			out = append(out, gv, path.Join(gv, kind))
		}
	}
}
