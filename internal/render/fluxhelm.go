package render

import (
	"crypto/sha256"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Flux's kinds a HelmRelease takes its chart from (fluxcd/helm-controller
// api/v2: spec.chart.spec.sourceRef, spec.chartRef).
const (
	fluxHelmGroup       = "helm.toolkit.fluxcd.io"
	fluxSourceGroup     = "source.toolkit.fluxcd.io"
	KindHelmRepository  = "HelmRepository"
	KindOCIRepository   = "OCIRepository"
	fluxHelmReleaseKind = "HelmRelease"
)

// SourceRef names a Flux chart source: a HelmRepository or OCIRepository.
type SourceRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r SourceRef) String() string { return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name) }

// FluxSource is a chart source read from the cluster, for a HelmRelease
// whose path does not hold it: only its spec, which says where the chart
// is (never credentials: those are the server config's).
type FluxSource struct {
	SourceRef
	Spec map[string]any `json:"spec"`
}

// NeedSource is a chart source a render needs read from the cluster, and
// the file that names it.
type NeedSource struct {
	SourceRef
	File string `json:"file"`
}

// fluxRelease is the Helm release a Flux HelmRelease makes, read from the
// environment's rendered path: the chart and how helm-controller installs
// it.
type fluxRelease struct {
	file            string // repo-relative file of the HelmRelease
	chart           ChartRef
	name, namespace string // the release's, as helm-controller names it
	values          map[string]any
}

// fluxHelmRelease reports whether env is a Flux HelmRelease whose path is
// not the chart itself: the path holds the HelmRelease (and what a
// Kustomization applies with it), and the chart comes from a
// HelmRepository or OCIRepository.
func fluxHelmRelease(src *source, kind string) bool {
	r := src.env.Reconciler
	return kind != KindHelm && r != nil && r.Flux != nil && r.Flux.Kind == repoconfig.FluxHelmRelease
}

// renderFluxHelm renders what helm-controller will install once the path
// is applied: the path is built as kustomize-controller builds it, the
// HelmRelease the environment names is read from it, and its chart is
// rendered through the same Helm path as helm.chart (fetched by the
// server, from the sources its helm.repositories allow), with the
// HelmRelease's values and release name and namespace.
func renderFluxHelm(src *source) (*rendered, error) {
	src.generate = src.entry == ""
	applied, err := renderKustomize(src)
	if err != nil {
		return nil, err
	}
	rel, err := readFluxRelease(src, applied.objects)
	if err != nil {
		return nil, err
	}
	src.release, src.entry, src.generate = rel, rel.file, false
	out, err := renderHelm(src)
	if err != nil {
		return nil, err
	}
	out.namespace = rel.namespace
	return out, nil
}

// readFluxRelease finds the HelmRelease env names among objs and reads it
// as helm-controller does (fluxcd/helm-controller api/v2, docs/spec/v2/
// helmreleases.md): chart, values, release name and namespace.
func readFluxRelease(src *source, objs []Object) (*fluxRelease, error) {
	ref := src.env.Reconciler.Flux
	hr := findObject(objs, fluxHelmGroup, fluxHelmReleaseKind, ref.Namespace, ref.Name)
	if hr == nil {
		return nil, &Error{File: src.rel, Msg: fmt.Sprintf("no HelmRelease %s/%s in %s, which the environment's reconciler names: this path must hold it (with what a Kustomization applies with it), or point the environment's path at the chart", ref.Namespace, ref.Name, src.rel)}
	}
	if hr.GetNamespace() == "" {
		// kustomize-controller gives it the Kustomization's target
		// namespace, which must be the one the config names to be found.
		hr = hr.DeepCopy()
		hr.SetNamespace(ref.Namespace)
	}
	file, line := locateObject(src, fluxHelmReleaseKind, ref.Name)
	at := func(key, format string, args ...any) error {
		return &Error{File: file, Line: line, Msg: fmt.Sprintf("HelmRelease %s/%s %s: %s", ref.Namespace, ref.Name, key, fmt.Sprintf(format, args...))}
	}
	spec, _, _ := unstructured.NestedMap(hr.Object, "spec")
	for _, unsupported := range []struct{ key, why string }{
		{"postRenderers", "post-renderers are not applied by slipway's render, so its plan would not show what helm-controller installs"},
		{"kubeConfig", "the release goes to another cluster than the environment's, where slipway's plan does not look"},
	} {
		if v, ok := spec[unsupported.key]; ok && v != nil && !isEmpty(v) {
			return nil, at("spec."+unsupported.key, "%s; remove it, or plan this release another way", unsupported.why)
		}
	}
	rel := &fluxRelease{file: file}
	var err error
	if rel.chart, err = fluxChart(src, objs, hr, at); err != nil {
		return nil, err
	}
	if rel.values, err = fluxValues(objs, hr, at); err != nil {
		return nil, err
	}
	rel.name, rel.namespace = fluxReleaseName(hr)
	return rel, nil
}

// fluxChart is the chart the HelmRelease installs, at one exact version:
// spec.chart.spec (chart, version, a HelmRepository) or spec.chartRef (an
// OCIRepository at a tag). The source is the one the path holds, else the
// cluster's (read by the server: a *NeedCharts asks for it).
func fluxChart(src *source, objs []Object, hr *unstructured.Unstructured, at func(key, format string, args ...any) error) (ChartRef, error) {
	refKey := "spec.chart.spec.sourceRef"
	refPath := []string{"spec", "chart", "spec", "sourceRef"}
	if _, ok, _ := unstructured.NestedMap(hr.Object, "spec", "chartRef"); ok {
		refKey, refPath = "spec.chartRef", []string{"spec", "chartRef"}
	}
	kind, _, _ := unstructured.NestedString(hr.Object, append(refPath, "kind")...)
	name, _, _ := unstructured.NestedString(hr.Object, append(refPath, "name")...)
	ns, _, _ := unstructured.NestedString(hr.Object, append(refPath, "namespace")...)
	switch {
	case kind == "GitRepository" && refKey == "spec.chart.spec.sourceRef":
		return ChartRef{}, at(refKey, "takes the chart from a GitRepository: point the environment's path at the chart (spec.chart.spec.chart) instead of at the HelmRelease")
	case refKey == "spec.chart.spec.sourceRef" && kind != KindHelmRepository, refKey == "spec.chartRef" && kind != KindOCIRepository:
		return ChartRef{}, at(refKey+".kind", "%q is not a chart source slipway renders from: it reads a HelmRepository (spec.chart) or an OCIRepository (spec.chartRef)", kind)
	case name == "":
		return ChartRef{}, at(refKey+".name", "is required")
	}
	if ns == "" {
		ns = hr.GetNamespace()
	}
	sref := SourceRef{Kind: kind, Namespace: ns, Name: name}
	var sourceSpec map[string]any
	if o := findObject(objs, fluxSourceGroup, kind, ns, name); o != nil {
		sourceSpec, _, _ = unstructured.NestedMap(o.Object, "spec")
	} else if s, ok := src.opts.source(sref); ok {
		sourceSpec = s.Spec
	} else {
		file, _ := locateObject(src, fluxHelmReleaseKind, hr.GetName())
		return ChartRef{}, &NeedCharts{Sources: []NeedSource{{SourceRef: sref, File: file}}}
	}
	url, _, _ := unstructured.NestedString(sourceSpec, "url")
	if url == "" {
		return ChartRef{}, at(refKey, "%s has no spec.url", sref)
	}
	if kind == KindOCIRepository {
		return ociChart(sref, sourceSpec, url, at)
	}
	chart, _, _ := unstructured.NestedString(hr.Object, "spec", "chart", "spec", "chart")
	version, _, _ := unstructured.NestedString(hr.Object, "spec", "chart", "spec", "version")
	if chart == "" || strings.ContainsAny(chart, "/:@ ") {
		return ChartRef{}, at("spec.chart.spec.chart", "%q must be the chart's name in %s", chart, sref)
	}
	if files, _, _ := unstructured.NestedSlice(hr.Object, "spec", "chart", "spec", "valuesFiles"); len(files) > 0 {
		return ChartRef{}, at("spec.chart.spec.valuesFiles", "values files inside the chart are not read by slipway's render; put the values in spec.values or a ConfigMap of spec.valuesFrom")
	}
	if err := exactVersion(version); err != "" {
		return ChartRef{}, at("spec.chart.spec.version", "%s", err)
	}
	if t, _, _ := unstructured.NestedString(sourceSpec, "type"); t == "oci" && !strings.HasPrefix(url, repoconfig.OCIScheme) {
		return ChartRef{}, at(refKey, "%s is of type oci but its url %q is not oci://", sref, url)
	}
	return ChartRef{Repo: url, Name: chart, Version: version}, nil
}

// ociChart is the chart an OCIRepository holds, at the tag it names.
func ociChart(sref SourceRef, spec map[string]any, url string, at func(key, format string, args ...any) error) (ChartRef, error) {
	ref, err := repoconfig.ParseOCIRef(url)
	if err != nil {
		return ChartRef{}, at("spec.chartRef", "%s spec.url: %v", sref, err)
	}
	tag, _, _ := unstructured.NestedString(spec, "ref", "tag")
	for _, other := range []string{"semver", "digest"} {
		if v, _, _ := unstructured.NestedString(spec, "ref", other); v != "" {
			return ChartRef{}, at("spec.chartRef", "%s picks the chart by spec.ref.%s %q: pin spec.ref.tag to one exact version, so that what was reviewed is what is installed", sref, other, v)
		}
	}
	if msg := exactVersion(tag); msg != "" {
		return ChartRef{}, at("spec.chartRef", "%s spec.ref.tag %s", sref, msg)
	}
	return ChartRef{Repo: ref.Repo, Name: ref.Chart, Version: tag}, nil
}

// exactVersion returns what is wrong with a chart version, or "".
func exactVersion(v string) string {
	if v == "" {
		return "is required: the exact chart version to install, such as 1.4.2 (Flux would take the latest)"
	}
	return repoconfig.NotExact(v)
}

// fluxReleaseName is the release helm-controller makes: spec.releaseName,
// else [targetNamespace-]name, shortened past 53 characters as
// helm-controller's release.ShortenName does; in spec.targetNamespace,
// else the HelmRelease's namespace. (spec.storageNamespace only says where
// Helm keeps its records.)
func fluxReleaseName(hr *unstructured.Unstructured) (string, string) {
	target, _, _ := unstructured.NestedString(hr.Object, "spec", "targetNamespace")
	name, _, _ := unstructured.NestedString(hr.Object, "spec", "releaseName")
	switch {
	case name != "":
	case target != "":
		name = target + "-" + hr.GetName()
	default:
		name = hr.GetName()
	}
	if len(name) > 53 {
		sum := fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
		name = name[:53-13] + "-" + sum[:12]
	}
	ns := target
	if ns == "" {
		ns = hr.GetNamespace()
	}
	return name, ns
}

// findObject is the object of group and kind named namespace/name in
// objs; one rendered without a namespace matches any (kustomize-controller
// gives it the Kustomization's target namespace).
func findObject(objs []Object, group, kind, namespace, name string) *unstructured.Unstructured {
	for _, o := range objs {
		u := o.Object
		gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
		if gv.Group == group && u.GetKind() == kind && u.GetName() == name && (u.GetNamespace() == "" || u.GetNamespace() == namespace) {
			return u
		}
	}
	return nil
}

// locateObject finds the file (and line) of the path that holds the object
// kind/name: kustomize does not say where an object came from.
func locateObject(src *source, kind, name string) (string, int) {
	for _, f := range src.jail.files() {
		if ext := path.Ext(f); ext != ".yaml" && ext != ".yml" {
			continue
		}
		data, err := src.jail.readFile(filepath.Join(src.jail.root, filepath.FromSlash(f)))
		if err != nil {
			continue
		}
		objs, _ := decodeManifests(data, f)
		if i := slices.IndexFunc(objs, func(o Object) bool { return o.Object.GetKind() == kind && o.Object.GetName() == name }); i >= 0 {
			return f, objs[i].Line
		}
	}
	return src.rel, 0
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}
