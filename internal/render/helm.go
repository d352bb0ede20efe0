package render

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/release"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// defaultHelmNamespace is what helm template calls .Release.Namespace when
// none is given.
const defaultHelmNamespace = "default"

// renderHelm renders a chart the way `helm template` does, without a
// cluster: lookup returns nothing, getHostByName returns "", and
// dependencies come from the chart's charts/ directory or, as `helm
// dependency build` would fetch them, through chartFor.
// .Capabilities are the cluster's when Options.Capabilities holds them
// (see capabilities.go), Helm's defaults otherwise.
func renderHelm(src *source) (*rendered, error) {
	chartFile := src.entry
	ch, err := chartFor(src)
	if err != nil {
		return nil, err
	}
	if ch.Metadata.Type == "library" {
		return nil, &Error{File: chartFile, Msg: "a library chart cannot be installed; point the environment at an application chart that depends on it"}
	}
	if missing := missingDependencies(ch); len(missing) > 0 {
		return nil, &Error{File: chartFile, Msg: fmt.Sprintf("dependencies %s are in Chart.yaml but not in charts/ and name no repository: give each its repository (an https:// or oci:// URL the server allows, or file:// inside the repository), or run 'helm dependency build' and commit the charts/ directory", strings.Join(missing, ", "))}
	}
	vals, err := readValues(src)
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, &Error{File: chartFile, Msg: err.Error()}
	}
	caps, err := src.opts.Capabilities.helmCapabilities(ch)
	if err != nil {
		return nil, &Error{File: chartFile, Msg: err.Error()}
	}
	if kv := ch.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, &Error{File: chartFile, Msg: fmt.Sprintf("chart requires kubeVersion %s, which does not include %s", kv, caps.KubeVersion.String())}
	}
	opts, err := releaseOptions(src)
	if err != nil {
		return nil, err
	}
	// helm's own schema check would follow $refs to any file or URL; ours
	// (validateSchemas) follows none.
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, true)
	if err != nil {
		return nil, &Error{File: chartFile, Msg: err.Error()}
	}
	if err := validateSchemas(ch, top["Values"].(chartutil.Values)); err != nil {
		return nil, &Error{File: src.rel, Msg: err.Error()} // the chart's or a subchart's values.schema.json
	}
	// engine.Render, not RenderWithClient: no cluster, so lookup is empty.
	files, err := engine.Render(ch, top)
	if err != nil {
		return nil, &Error{File: src.rel, Msg: err.Error()}
	}

	out := &rendered{}
	for _, crd := range ch.CRDObjects() {
		objs, err := decodeManifests(crd.File.Data, chartPath(src, crd.Filename))
		if err != nil {
			return nil, err
		}
		out.objects = append(out.objects, objs...)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names) // files is a map: fix the order
	for _, name := range names {
		content := files[name]
		if strings.HasPrefix(path.Base(name), "_") || strings.HasSuffix(name, "NOTES.txt") || strings.TrimSpace(content) == "" {
			continue // partials, install notes, templates that rendered nothing
		}
		objs, err := decodeRendered(content, chartPath(src, name))
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if _, hook := o.Object.GetAnnotations()[release.HookAnnotation]; hook {
				out.skipped = append(out.skipped, o)
			} else {
				out.objects = append(out.objects, o)
			}
		}
	}
	return out, nil
}

// missingDependencies names the dependencies Chart.yaml lists that are not
// vendored, as helm's action.CheckDependencies does (without the weight of
// importing the action package).
func missingDependencies(ch *chart.Chart) []string {
	var missing []string
	for _, dep := range ch.Metadata.Dependencies {
		if !slices.ContainsFunc(ch.Dependencies(), func(c *chart.Chart) bool { return c.Name() == dep.Name }) {
			missing = append(missing, dep.Name)
		}
	}
	return missing
}

// decodeRendered decodes a template's output. Its line numbers are lines of
// the output, not of the template, so they go in the message, not in Line.
func decodeRendered(content, file string) ([]Object, error) {
	objs, err := decodeManifests([]byte(content), file)
	if e, ok := err.(*Error); ok && e.Line > 0 {
		return nil, &Error{File: e.File, Msg: fmt.Sprintf("line %d of the rendered output: %s", e.Line, e.Msg)}
	}
	if err != nil {
		return nil, err
	}
	for i := range objs {
		objs[i].Line = 0
	}
	return objs, nil
}

// chartPath maps a name helm gives a chart file ("mychart/templates/x.yaml",
// "mychart/charts/sub/crds/y.yaml") to its repo-relative path.
func chartPath(src *source, name string) string {
	if isRemote(src) {
		return "" // no file of the repository
	}
	_, rest, _ := strings.Cut(filepath.ToSlash(name), "/")
	return path.Join(src.rel, rest)
}

// releaseOptions names the release as the environment says, or after the
// environment.
func releaseOptions(src *source) (chartutil.ReleaseOptions, error) {
	if rel := src.release; rel != nil {
		// helm-controller's names, checked as Helm checks them.
		if err := chartutil.ValidateReleaseName(rel.name); err != nil {
			return chartutil.ReleaseOptions{}, &Error{File: rel.file, Msg: fmt.Sprintf("release name %q: %v; set spec.releaseName in the HelmRelease", rel.name, err)}
		}
		return chartutil.ReleaseOptions{Name: rel.name, Namespace: rel.namespace, Revision: 1, IsInstall: true}, nil
	}
	name := src.env.Name
	if src.env.Helm != nil && src.env.Helm.Release != "" {
		name = src.env.Helm.Release
	}
	if err := chartutil.ValidateReleaseName(name); err != nil {
		return chartutil.ReleaseOptions{}, &Error{File: src.rel, Msg: fmt.Sprintf("release name %q: %v; set helm.release in the environment's config", name, err)}
	}
	ns := src.env.Namespace
	if ns == "" {
		ns = defaultHelmNamespace
	}
	return chartutil.ReleaseOptions{Name: name, Namespace: ns, Revision: 1, IsInstall: true}, nil
}

// readValues merges the environment's values files in order, later ones
// winning, as `helm template -f a.yaml -f b.yaml` does. They are relative to
// the chart and must stay in the repository.
func readValues(src *source) (map[string]any, error) {
	if src.release != nil {
		return src.release.values, nil
	}
	vals := map[string]any{}
	if src.env.Helm == nil {
		return vals, nil
	}
	for _, v := range src.env.Helm.Values {
		p := filepath.Join(src.dir, filepath.FromSlash(v))
		if !within(src.jail.root, p) {
			return nil, &Error{File: repoconfig.FileName, Msg: fmt.Sprintf("environment %s: helm values file %q is outside the repository; values files must be inside it", src.env.Name, v)}
		}
		file := src.jail.show(p)
		_, fi, err := src.jail.stat(p)
		switch {
		case err != nil:
			return nil, src.jail.errorAt(file, err)
		case fi == nil:
			return nil, &Error{File: file, Msg: fmt.Sprintf("values file %q listed for environment %s does not exist (values paths are relative to the chart, or to the environment's path when it names helm.chart)", v, src.env.Name)}
		}
		data, err := src.jail.readFile(p)
		if err != nil {
			return nil, src.jail.errorAt(file, err)
		}
		next, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, valuesError(file, err)
		}
		vals = chartutil.MergeTables(next, vals)
	}
	return vals, nil
}

// valuesError locates a YAML error in a values file.
func valuesError(file string, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "yaml: "); i >= 0 {
		return yamlError(file, fmt.Errorf("%s", msg[i:]))
	}
	return &Error{File: file, Msg: msg}
}

// loadChart loads the chart from files read through the jail, honouring
// .helmignore as helm does.
func loadChart(src *source) (*chart.Chart, error) {
	files, err := chartFiles(src)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, &Error{File: src.entry, Msg: src.jail.relativize(err.Error())}
	}
	return ch, nil
}
