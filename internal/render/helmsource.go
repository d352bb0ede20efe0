package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// ChartRef is a chart kept outside the repository, at one exact version.
type ChartRef struct {
	Repo    string `json:"repo"` // an https:// chart repository or an oci:// registry path
	Name    string `json:"name"`
	Version string `json:"version"`
}

func (r ChartRef) String() string {
	return repoconfig.ChartRef{Repo: r.Repo, Chart: r.Name}.String() + " " + r.Version
}

// FetchedChart is a chart archive fetched for a render, on the server's
// disk: a path the server gives, never one a repository names.
type FetchedChart struct {
	ChartRef
	Path   string `json:"path"`
	Digest string `json:"digest"`
}

// Need is a chart a render needs and was not given, and where it is named.
type Need struct {
	ChartRef
	File string `json:"file"` // repo-relative: .slipway.yaml or a Chart.yaml
}

// NeedCharts stops a render that needs charts from outside the repository
// it was not given, or the Flux chart sources that say where they are.
// WithCharts fetches them and renders again.
type NeedCharts struct {
	Needs   []Need
	Sources []NeedSource
}

func (e *NeedCharts) Error() string {
	var names []string
	for _, n := range e.Needs {
		names = append(names, n.ChartRef.String())
	}
	for _, s := range e.Sources {
		names = append(names, "Flux "+s.SourceRef.String())
	}
	return fmt.Sprintf("the render needs %s, which only slipway's server fetches (charts from the sources its helm.repositories allow, Flux sources from the environment's cluster)", strings.Join(names, ", "))
}

// located is the error a render that could not fetch reports: at the
// first file naming a chart it needs.
func (e *NeedCharts) located() *Error {
	if len(e.Sources) > 0 {
		s := e.Sources[0]
		return &Error{File: s.File, Msg: fmt.Sprintf("the HelmRelease takes its chart from Flux %s, which this path does not hold; only slipway's server reads it, from the environment's cluster (this render reads no cluster): add it to the path, or plan with a cluster", s.SourceRef)}
	}
	if len(e.Needs) == 0 {
		return &Error{Msg: e.Error()}
	}
	first := e.Needs[0].File
	var names, refs []string
	for _, n := range e.Needs {
		if n.File == first {
			names = append(names, n.Name)
			refs = append(refs, n.ChartRef.String())
		}
	}
	const how = " can only be fetched by slipway's server (or 'slipway plan --config'), from the sources its helm.repositories allow; this render fetches nothing"
	if path.Base(first) == "Chart.yaml" {
		return &Error{File: first, Msg: fmt.Sprintf("dependencies %s are in Chart.yaml but not in charts/; %s%s (or vendor them with 'helm dependency build')", strings.Join(names, ", "), strings.Join(refs, ", "), how)}
	}
	return &Error{File: first, Msg: "chart " + strings.Join(refs, ", ") + how}
}

// FetchFunc fetches a chart from outside the repository for a render of
// GitHub repository repository (Options.Repository), or says why not.
type FetchFunc func(ctx context.Context, repository string, ref ChartRef) (FetchedChart, error)

// SourceFunc reads a Flux chart source from the environment's cluster, or
// says why not.
type SourceFunc func(ctx context.Context, ref SourceRef) (FluxSource, error)

// maxFetchRounds bounds WithCharts: a HelmRelease's chart source, the
// environment's chart, then a committed chart's dependencies (a packaged
// chart carries its own).
const maxFetchRounds = 4

// WithCharts runs attempt (a render) with the charts opts.Charts holds,
// fetching with opts.Fetch, between attempts, the ones each attempt says it
// needs. A fetch failure is located at the file that names the chart.
func WithCharts(ctx context.Context, opts Options, attempt func(Options) (*Result, error)) (*Result, error) {
	if opts.Fetch == nil && opts.LookupSource == nil {
		return attempt(opts)
	}
	// Nothing is fetched before a render asks: it checks first what a
	// fetch would be wasted on (a Chart.lock out of step, a path holding
	// a chart as well as naming one).
	var pending []Need
	var sources []NeedSource
	for round := 0; ; round++ {
		given := opts
		for _, n := range sources {
			if _, ok := given.source(n.SourceRef); ok {
				return nil, fmt.Errorf("render: asked again for Flux %s, which it was given; this is a bug in slipway, please report it", n.SourceRef)
			}
			if opts.LookupSource == nil {
				return nil, (&NeedCharts{Sources: []NeedSource{n}}).located()
			}
			fs, err := opts.LookupSource(ctx, n.SourceRef)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
					return nil, err
				}
				return nil, &Error{File: n.File, Msg: err.Error()}
			}
			opts.Sources = append(slices.Clone(opts.Sources), fs)
		}
		if opts.Fetch == nil && len(pending) > 0 {
			return nil, (&NeedCharts{Needs: pending}).located()
		}
		for _, n := range pending {
			if _, ok := given.chart(n.ChartRef); ok {
				return nil, fmt.Errorf("render: asked again for %s, which it was given; this is a bug in slipway, please report it", n.ChartRef)
			}
			if _, ok := opts.chart(n.ChartRef); ok {
				continue // asked twice in one round (one chart under two aliases)
			}
			fc, err := opts.Fetch(ctx, opts.Repository, n.ChartRef)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
					return nil, err // the caller tells a deadline from a failure
				}
				return nil, &Error{File: n.File, Msg: err.Error()}
			}
			opts.Charts = append(slices.Clone(opts.Charts), fc)
		}
		res, err := attempt(opts)
		var need *NeedCharts
		if !errors.As(err, &need) || round == maxFetchRounds {
			return res, err
		}
		pending, sources = need.Needs, need.Sources
	}
}

// source finds a chart source read from the cluster.
func (o Options) source(ref SourceRef) (FluxSource, bool) {
	for _, s := range o.Sources {
		if s.SourceRef == ref {
			return s, true
		}
	}
	return FluxSource{}, false
}

func envChart(env *repoconfig.Environment) ChartRef {
	return ChartRef{Repo: env.Helm.Chart.Repo, Name: env.Helm.Chart.Chart, Version: env.Helm.Version}
}

// chart finds a fetched chart; repository URLs compare without a trailing
// slash.
func (o Options) chart(ref ChartRef) (FetchedChart, bool) {
	for _, c := range o.Charts {
		if c.Name == ref.Name && c.Version == ref.Version && strings.TrimSuffix(c.Repo, "/") == strings.TrimSuffix(ref.Repo, "/") {
			return c, true
		}
	}
	return FetchedChart{}, false
}

// detectRemote settles the kind of an environment that names its chart by
// reference: Helm, and nothing at its path may say otherwise.
func detectRemote(src *source, kind string) (string, error) {
	if kind != KindPlain {
		return "", &Error{File: src.entry, Msg: fmt.Sprintf("environment %s names helm.chart in %s, but its path holds this file too; remove one of them", src.env.Name, repoconfig.FileName)}
	}
	src.entry = ""
	return KindHelm, nil
}

// chartFor loads the chart an environment renders: the one it names by
// reference, fetched, or the one committed at its path with the
// dependencies it does not vendor.
func chartFor(src *source) (*chart.Chart, error) {
	if rel := src.release; rel != nil {
		fc, ok := src.opts.chart(rel.chart)
		if !ok {
			return nil, &NeedCharts{Needs: []Need{{ChartRef: rel.chart, File: rel.file}}}
		}
		return loadFetched(fc, rel.file)
	}
	if src.env.Helm != nil && src.env.Helm.Chart != nil {
		ref := envChart(src.env)
		fc, ok := src.opts.chart(ref)
		if !ok {
			return nil, &NeedCharts{Needs: []Need{{ChartRef: ref, File: repoconfig.FileName}}}
		}
		return loadFetched(fc, repoconfig.FileName)
	}
	ch, err := loadChart(src)
	if err != nil {
		return nil, err
	}
	if err := resolveDependencies(src, ch); err != nil {
		return nil, err
	}
	return ch, nil
}

// loadFetched loads a fetched archive with helm's loader (which caps its
// decompressed size) and checks it is the chart asked for: a source could
// serve another under that name.
func loadFetched(fc FetchedChart, namedIn string) (*chart.Chart, error) {
	ch, err := loader.Load(fc.Path)
	if err != nil {
		return nil, &Error{File: namedIn, Msg: fmt.Sprintf("chart %s (%s) cannot be loaded: %v", fc.ChartRef, fc.Digest, err)}
	}
	if ch.Name() != fc.Name || ch.Metadata.Version != fc.Version {
		return nil, &Error{File: namedIn, Msg: fmt.Sprintf("%s serves chart %s %s under %s %s; check the source", fc.Repo, ch.Name(), ch.Metadata.Version, fc.Name, fc.Version)}
	}
	return ch, nil
}

// chartSources lists the charts from outside the repository a render used,
// for the plan to show: reference, version and digest.
func chartSources(opts Options) []string {
	var out []string
	for _, c := range opts.Charts {
		out = append(out, fmt.Sprintf("%s (%s)", c.ChartRef, c.Digest))
	}
	slices.Sort(out)
	return out
}

// isRemote reports whether the environment names its chart by reference:
// what that chart renders comes from no file of the repository.
func isRemote(src *source) bool {
	return src.release != nil || src.env.Helm != nil && src.env.Helm.Chart != nil
}

// chartFileOf is the repo-relative Chart.yaml of a committed chart.
func chartFileOf(src *source) string { return path.Join(src.rel, "Chart.yaml") }
