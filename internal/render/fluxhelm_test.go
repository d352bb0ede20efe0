package render

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/chartsrc/chartsrctest"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// The shapes below are Flux's v2 APIs as documented in fluxcd/helm-controller
// docs/spec/v2/helmreleases.md (spec.chart.spec, spec.chartRef, values,
// valuesFrom, releaseName, targetNamespace) and source-controller's
// HelmRepository and OCIRepository (spec.url, spec.type, spec.ref).

func helmReleaseEnv() *repoconfig.Environment {
	e := env("clusters/prod/web", "")
	e.Reconciler = &repoconfig.Reconciler{Flux: &repoconfig.FluxRef{Kind: repoconfig.FluxHelmRelease, Name: "web", Namespace: "flux-system"}}
	return e
}

// helmRelease is a HelmRelease flux-system/web whose spec ends with spec
// (indented two spaces, under spec:).
func helmRelease(spec string) string {
	return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  interval: 10m\n" + spec
}

func fromHelmRepository(version string) string {
	return fmt.Sprintf("  chart:\n    spec:\n      chart: web\n      version: %q\n      sourceRef: {kind: HelmRepository, name: charts}\n", version)
}

func helmRepository(url string) string {
	return "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: flux-system}\nspec:\n  interval: 1h\n  url: " + url + "\n"
}

const valuesConfigMap = `apiVersion: v1
kind: ConfigMap
metadata: {name: web-values, namespace: flux-system}
data:
  values.yaml: |
    greeting: from the ConfigMap
    extra: {a: "1", b: "2"}
  size: "3"
`

// A HelmRelease from a HelmRepository renders what helm-controller would
// install: the chart fetched through the server's sources, with valuesFrom
// then inline values (inline winning, targetPath over both), as the
// release [targetNamespace-]name in the target namespace; the HelmRelease,
// its source and its ConfigMap are kustomize-controller's, not the plan's.
func TestFluxHelmReleaseFromHelmRepository(t *testing.T) {
	s := newSources(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"clusters/prod/web/release.yaml": helmRelease(fromHelmRepository("1.4.2") + `  targetNamespace: shop
  valuesFrom:
    - {kind: ConfigMap, name: web-values}
    - {kind: ConfigMap, name: web-values, valuesKey: size, targetPath: extra.b}
    - {kind: ConfigMap, name: absent, optional: true}
  values:
    greeting: inline wins
    extra: {a: inline}
`),
		"clusters/prod/web/repository.yaml": helmRepository(s.repo.URL),
		"clusters/prod/web/values.yaml":     valuesConfigMap,
	})
	res, err := Render(context.Background(), root, helmReleaseEnv(), s.options())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(refs(res.Objects), ","); got != "ConfigMap /shop-web-web" {
		t.Fatalf("objects %s, want only the chart's ConfigMap of release shop-web", got)
	}
	if res.Kind != KindHelm || res.Namespace != "shop" {
		t.Errorf("kind %s namespace %q, want helm in the target namespace shop", res.Kind, res.Namespace)
	}
	if data := res.Objects[0].Object.Object["data"].(map[string]any); data["greeting"] != "inline wins" || data["chart"] != "web-1.4.2" {
		t.Errorf("rendered data %v", data)
	}
	if len(res.Charts) != 1 || !strings.HasPrefix(res.Charts[0], "web from "+s.repo.URL+" 1.4.2 (sha256:") {
		t.Errorf("charts %q, want web 1.4.2 from the repository", res.Charts)
	}
	// The values helm-controller composes.
	vals := releaseValues(t, root)
	extra := vals["extra"].(map[string]any)
	if vals["greeting"] != "inline wins" || extra["a"] != "inline" || extra["b"] != int64(3) {
		t.Errorf("values %v", vals)
	}
}

// releaseValues reads the values of the HelmRelease at clusters/prod/web.
func releaseValues(t *testing.T, root string) map[string]any {
	t.Helper()
	j, err := newJail(root)
	if err != nil {
		t.Fatal(err)
	}
	src, err := open(j, helmReleaseEnv(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.generate = true
	out, err := renderKustomize(src)
	if err != nil {
		t.Fatal(err)
	}
	hr := findObject(out.objects, fluxHelmGroup, fluxHelmReleaseKind, "flux-system", "web")
	vals, err := fluxValues(out.objects, hr, func(key, format string, args ...any) error { return fmt.Errorf(key+": "+format, args...) })
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// spec.chartRef to an OCIRepository at a tag renders that chart; the
// source is read from the cluster when the path does not hold it, and the
// release name is shortened as helm-controller shortens it.
func TestFluxHelmReleaseFromOCIRepository(t *testing.T) {
	s := newSources(t)
	root := t.TempDir()
	long := strings.Repeat("x", 60)
	writeFiles(t, root, map[string]string{
		"clusters/prod/web/release.yaml": helmRelease("  chartRef: {kind: OCIRepository, name: web}\n  releaseName: " + long + "\n  values: {greeting: 1000000}\n"),
	})
	var asked []SourceRef
	opts := s.options()
	opts.LookupSource = func(_ context.Context, ref SourceRef) (FluxSource, error) {
		asked = append(asked, ref)
		return FluxSource{SourceRef: ref, Spec: map[string]any{"url": s.reg.URL + "/web", "ref": map[string]any{"tag": "1.4.2"}}}, nil
	}
	res, err := Render(context.Background(), root, helmReleaseEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != (SourceRef{Kind: KindOCIRepository, Namespace: "flux-system", Name: "web"}) {
		t.Errorf("sources read from the cluster: %v", asked)
	}
	name := strings.Repeat("x", 40) + "-" // then 12 characters of the name's SHA-256
	if got := res.Objects[0].Object.GetName(); !strings.HasPrefix(got, name) || len(got) != 53+len("-web") {
		t.Errorf("object %s, want release name %s<hash> as helm-controller shortens it", got, name)
	}
	// As helm-controller holds spec.values (encoding/json: float64), so
	// as Helm prints it.
	if got := res.Objects[0].Object.Object["data"].(map[string]any)["greeting"]; got != "1e+06" {
		t.Errorf("greeting %q, want 1e+06 as helm-controller renders 1000000", got)
	}
	if res.Namespace != "flux-system" || !strings.HasPrefix(res.Charts[0], s.reg.URL+"/web 1.4.2") {
		t.Errorf("namespace %q charts %q", res.Namespace, res.Charts)
	}
}

// What a pull request writes into the path cannot make slipway fetch from
// a source the server does not list, read a Secret, or render a version
// other than one exact version; each is a plan error at the HelmRelease's
// file, naming the key.
func TestFluxHelmReleaseRefused(t *testing.T) {
	s := newSources(t)
	evil := chartsrctest.NewRepo(t, remoteCharts...) // not on the allow-list
	tests := []struct {
		name, release, repository string
		lookup                    bool
		file, want                string
	}{
		{"unlisted repository", helmRelease(fromHelmRepository("1.4.2")), helmRepository(evil.URL), false,
			"clusters/prod/web/release.yaml", evil.URL + " is not a chart source the server config allows (helm.repositories: "},
		{"values from a Secret", helmRelease(fromHelmRepository("1.4.2") + "  valuesFrom: [{kind: Secret, name: web-secrets}]\n"), helmRepository(s.repo.URL), false,
			"clusters/prod/web/release.yaml", "spec.valuesFrom[0]: takes values from Secret web-secrets: slipway never reads a Secret's values into a plan"},
		{"a range", helmRelease(fromHelmRepository("~1.4")), helmRepository(s.repo.URL), false,
			"clusters/prod/web/release.yaml", `spec.chart.spec.version: "~1.4" must be one exact version`},
		{"no version", helmRelease(fromHelmRepository("")), helmRepository(s.repo.URL), false,
			"clusters/prod/web/release.yaml", "spec.chart.spec.version: is required"},
		{"OCIRepository by semver", helmRelease("  chartRef: {kind: OCIRepository, name: web}\n"),
			"apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: web, namespace: flux-system}\nspec:\n  url: " + s.reg.URL + "/web\n  ref: {semver: '>=1.0.0'}\n", false,
			"clusters/prod/web/release.yaml", `picks the chart by spec.ref.semver ">=1.0.0"`},
		{"post-renderers", helmRelease(fromHelmRepository("1.4.2") + "  postRenderers: [{kustomize: {patches: []}}]\n"), helmRepository(s.repo.URL), false,
			"clusters/prod/web/release.yaml", "spec.postRenderers: post-renderers are not applied"},
		{"a ConfigMap the path lacks", helmRelease(fromHelmRepository("1.4.2") + "  valuesFrom: [{kind: ConfigMap, name: elsewhere}]\n"), helmRepository(s.repo.URL), false,
			"clusters/prod/web/release.yaml", "names ConfigMap flux-system/elsewhere, which the path does not hold"},
		{"source in no path and no cluster", helmRelease(fromHelmRepository("1.4.2")), "", false,
			"clusters/prod/web/release.yaml", "takes its chart from Flux HelmRepository flux-system/charts, which this path does not hold"},
		{"source in neither path nor cluster", helmRelease(fromHelmRepository("1.4.2")), "", true,
			"clusters/prod/web/release.yaml", "neither in the environment's path nor in the cluster"},
		{"another HelmRelease", strings.Replace(helmRelease(fromHelmRepository("1.4.2")), "name: web\n", "name: other\n", 1), helmRepository(s.repo.URL), false,
			"clusters/prod/web", "no HelmRelease flux-system/web in clusters/prod/web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			files := map[string]string{"clusters/prod/web/release.yaml": tt.release}
			if tt.repository != "" {
				files["clusters/prod/web/repository.yaml"] = tt.repository
			}
			writeFiles(t, root, files)
			opts := s.options()
			if tt.lookup {
				opts.LookupSource = func(_ context.Context, ref SourceRef) (FluxSource, error) {
					return FluxSource{}, fmt.Errorf("the HelmRelease takes its chart from Flux %s, which is neither in the environment's path nor in the cluster: add it to the path", ref)
				}
			}
			before := s.requests()
			rerr := renderError(t, root, helmReleaseEnv(), opts)
			if rerr.File != tt.file || !strings.Contains(rerr.Msg, tt.want) {
				t.Errorf("error %v, want at %s: %q", rerr, tt.file, tt.want)
			}
			if strings.Contains(tt.want, "spec.") && rerr.Line != 1 {
				t.Errorf("line %d, want the HelmRelease's (1)", rerr.Line)
			}
			if n := len(evil.Requests()); n > 0 {
				t.Errorf("the unlisted repository saw %d requests: %v", n, evil.Requests())
			}
			if tt.name != "unlisted repository" && s.requests() != before {
				t.Errorf("%d requests to the allowed sources for a refused release", s.requests()-before)
			}
		})
	}
}

// A HelmRelease (and ConfigMap) written without a namespace are the
// config's namespace, as kustomize-controller places them: the release
// goes there, and valuesFrom finds the ConfigMap.
func TestFluxHelmReleaseWithoutNamespace(t *testing.T) {
	s := newSources(t)
	root := t.TempDir()
	strip := strings.NewReplacer("  namespace: flux-system\n", "", ", namespace: flux-system}", "}").Replace
	writeFiles(t, root, map[string]string{
		"clusters/prod/web/release.yaml":    strip(helmRelease(fromHelmRepository("1.4.2") + "  valuesFrom: [{kind: ConfigMap, name: web-values}]\n")),
		"clusters/prod/web/repository.yaml": strip(helmRepository(s.repo.URL)),
		"clusters/prod/web/values.yaml":     strip(valuesConfigMap),
	})
	res, err := Render(context.Background(), root, helmReleaseEnv(), s.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Namespace != "flux-system" || res.Objects[0].Object.Object["data"].(map[string]any)["greeting"] != "from the ConfigMap" {
		t.Errorf("namespace %q, objects %v", res.Namespace, res.Objects[0].Object.Object)
	}
}
