package repoconfig

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"
)

// ChartRef names a chart kept outside the repository: a chart of an HTTP
// chart repository ({repo: https://charts.example.com, chart: web}) or of
// an OCI registry (oci://registry.example.com/charts/web, which is
// {repo: oci://registry.example.com/charts, chart: web}). Whether slipway
// may fetch it is the server config's word (helm.repositories), never the
// repository's.
type ChartRef struct {
	Repo  string `yaml:"repo"`
	Chart string `yaml:"chart"`
}

// OCIScheme starts a chart reference in an OCI registry.
const OCIScheme = "oci://"

// YAMLShorthand implements strictyaml.Shorthand: a reference is an oci://
// string or a mapping.
func (r *ChartRef) YAMLShorthand() {}

// UnmarshalYAML implements yaml.Unmarshaler for both forms.
func (r *ChartRef) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		ref, err := ParseOCIRef(n.Value)
		if err != nil {
			return err
		}
		*r = ref
		return nil
	case yaml.MappingNode:
	default:
		return fmt.Errorf("expected oci://HOST/PATH/CHART, or a mapping {repo: https://…, chart: NAME}")
	}
	type plain ChartRef // without the methods, so decoding does not recurse
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = ChartRef(p)
	return nil
}

// ParseOCIRef splits oci://host/path/chart into its repository and chart.
func ParseOCIRef(s string) (ChartRef, error) {
	rest, ok := strings.CutPrefix(s, OCIScheme)
	if !ok {
		return ChartRef{}, fmt.Errorf("%q is not an oci:// reference; name a chart of an HTTP repository as {repo: https://…, chart: NAME}", s)
	}
	i := strings.LastIndex(rest, "/")
	if i <= 0 || i == len(rest)-1 {
		return ChartRef{}, fmt.Errorf("%q must be oci://HOST/PATH/CHART", s)
	}
	return ChartRef{Repo: OCIScheme + rest[:i], Chart: rest[i+1:]}, nil
}

// IsOCI reports whether the chart lives in an OCI registry.
func (r ChartRef) IsOCI() bool { return strings.HasPrefix(r.Repo, OCIScheme) }

// String names the chart as a reader would look for it: the oci://
// reference, or the chart and its repository.
func (r ChartRef) String() string {
	if r.IsOCI() {
		return strings.TrimSuffix(r.Repo, "/") + "/" + r.Chart
	}
	return r.Chart + " from " + r.Repo
}

// check returns what is wrong with the reference, or "".
func (r ChartRef) check() string {
	switch {
	case r.Repo == "":
		return "repo is required: the chart repository's URL (https://…) or registry path (oci://…)"
	case r.Chart == "":
		return "chart is required: the chart's name in its repository"
	case strings.ContainsAny(r.Chart, "/:@ ") || r.Chart == "." || r.Chart == "..":
		return fmt.Sprintf("chart %q must be a bare chart name; put the version in helm.version", r.Chart)
	}
	u, err := url.Parse(r.Repo)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "oci") || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("repo %q must be an https://, http:// or oci:// URL without credentials, query or fragment (credentials belong in the server config)", r.Repo)
	}
	return ""
}

// checkExactVersion returns what is wrong with a chart version, or "": it
// must name one version, so that what was reviewed is what is applied.
func checkExactVersion(v string) string {
	if v == "" {
		return "is required with helm.chart: the exact chart version to render, such as 1.4.2"
	}
	return NotExact(v)
}

// NotExact says why chart version v is not one exact version (a range, a
// constraint), or is "" when it is.
func NotExact(v string) string {
	if _, err := semver.StrictNewVersion(v); err != nil {
		return fmt.Sprintf("%q must be one exact version such as 1.4.2, not a range: slipway renders exactly the version that was reviewed", v)
	}
	return ""
}
