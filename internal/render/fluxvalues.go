package render

import (
	"encoding/json"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fluxValues composes the release's values as helm-controller does
// (fluxcd/pkg/chartutil ChartValuesFromReferences): spec.valuesFrom in
// order, later ones winning, then spec.values over them; a targetPath sets
// one value over everything before it. Only ConfigMaps the path holds are
// read; a Secret never is.
func fluxValues(objs []Object, hr *unstructured.Unstructured, at func(key, format string, args ...any) error) (map[string]any, error) {
	inline, _, _ := unstructured.NestedMap(hr.Object, "spec", "values")
	inline, err := asJSON(inline)
	if err != nil {
		return nil, at("spec.values", "%v", err)
	}
	refs, _, _ := unstructured.NestedSlice(hr.Object, "spec", "valuesFrom")
	result := map[string]any{}
	for i, r := range refs {
		m, _ := r.(map[string]any)
		key := fmt.Sprintf("spec.valuesFrom[%d]", i)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		valuesKey, _ := m["valuesKey"].(string)
		targetPath, _ := m["targetPath"].(string)
		optional, _ := m["optional"].(bool)
		literal, _ := m["literal"].(bool)
		if valuesKey == "" {
			valuesKey = "values.yaml"
		}
		switch kind {
		case "Secret":
			return nil, at(key, "takes values from Secret %s: slipway never reads a Secret's values into a plan, so it cannot render this release; keep values that are not secret in spec.values or a ConfigMap, and let the chart read secrets from a Secret it mounts", name)
		case "ConfigMap":
		default:
			return nil, at(key+".kind", "%q is not ConfigMap or Secret", kind)
		}
		cm := findObject(objs, "", "ConfigMap", hr.GetNamespace(), name)
		if cm == nil {
			if optional {
				continue
			}
			return nil, at(key, "names ConfigMap %s/%s, which the path does not hold: slipway reads values only from ConfigMaps applied with the HelmRelease; add it to the path or mark the reference optional", hr.GetNamespace(), name)
		}
		data, ok, _ := unstructured.NestedString(cm.Object, "data", valuesKey)
		if !ok {
			if optional {
				continue
			}
			return nil, at(key+".valuesKey", "ConfigMap %s has no key %q", name, valuesKey)
		}
		if targetPath != "" {
			result = mergeMaps(result, inline)
			if err := setPath(result, targetPath, data, literal); err != nil {
				return nil, at(key+".targetPath", "%v", err)
			}
			continue
		}
		vals, err := readValuesData([]byte(data))
		if err != nil {
			return nil, at(key, "ConfigMap %s key %s: %v", name, valuesKey, err)
		}
		result = mergeMaps(result, vals)
	}
	return mergeMaps(result, inline), nil
}

// asJSON is m as helm-controller holds spec.values: decoded by
// encoding/json, numbers as float64. It matters to what a chart renders:
// Helm prints a float64 1000000 as 1e+06.
func asJSON(m map[string]any) (map[string]any, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// mergeMaps merges b into a, b winning, maps merged key by key (a map
// may replace a flat value and the reverse), as fluxcd/pkg/chartutil
// MergeMaps does.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v, ok := v.(map[string]any); ok {
			if bv, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(bv, v)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// setPath sets value at a valuesFrom targetPath, as fluxcd/pkg/chartutil
// ReplacePathValue and ReplacePathLiteralValue do: Helm's --set syntax (a
// quoted value is a string), or the value verbatim when literal.
func setPath(values map[string]any, targetPath, value string, literal bool) error {
	if literal {
		escaper := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `[`, `\[`, `]`, `\]`, `{`, `\{`, `}`, `\}`)
		return strvals.ParseIntoString(targetPath+"="+escaper.Replace(value), values)
	}
	if len(value) >= 2 && (value[0] == '\'' && value[len(value)-1] == '\'' || value[0] == '"' && value[len(value)-1] == '"') {
		return strvals.ParseIntoString(targetPath+"="+strings.Trim(value, `'"`), values)
	}
	return strvals.ParseInto(targetPath+"="+value, values)
}

// readValuesData reads a values document, as helm reads a values file.
func readValuesData(data []byte) (map[string]any, error) {
	v, err := chartutil.ReadValues(data)
	if err != nil {
		return nil, err
	}
	return v.AsMap(), nil
}
