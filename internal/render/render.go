// Package render turns an environment's directory into Kubernetes objects:
// Kustomize, Helm or plain YAML, sandboxed to the repository.
//
// The directory comes from a pull request and is untrusted: every file read
// is confined to the repository checkout (symlinks included), nothing is
// fetched from the network unless the caller allows Kustomize remote bases,
// no plugin or external program runs, and a crash in a renderer comes back as
// an error.
package render

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Kinds of render, as in Result.Kind.
const (
	KindKustomize = "kustomize"
	KindHelm      = "helm"
	KindPlain     = "plain"
)

// Object is one rendered Kubernetes object and where it came from.
type Object struct {
	Object *unstructured.Unstructured
	File   string // repo-relative source file ("" when the tool cannot say)
	Line   int    // 1-based line of the document in File for plain YAML; 0 otherwise
}

// Result is an environment rendered.
type Result struct {
	Kind    string   // KindKustomize, KindHelm or KindPlain
	Objects []Object // sorted (see order.go): the same tree gives the same result
	Skipped []Object // Helm hooks: never applied as objects of the release; the plan says which run, and when
	// Files are the repo-relative files the render read, sorted: a change to
	// any of them may change the result.
	Files []string
	// Charts are the charts from outside the repository rendered:
	// reference, version and digest.
	Charts []string
	// Namespace, when the render decides it rather than the environment,
	// is where objects that name no namespace go: a Flux HelmRelease's
	// release namespace.
	Namespace string
}

// Options tune a render.
type Options struct {
	// AllowRemoteBases lets kustomizations name remote resources and bases
	// (git or http URLs), which kustomize fetches. Off, they are refused
	// before any fetch.
	AllowRemoteBases bool
	// Scope says which kinds are namespaced, for giving namespaced objects
	// the environment's namespace and for catching unknown kinds. Nil
	// leaves namespaces as rendered.
	Scope Scoper
	// Capabilities are the target cluster's, for a Helm chart's
	// .Capabilities; nil renders with Helm's defaults.
	Capabilities *Capabilities
	// Charts are charts from outside the repository, fetched for this
	// render. One it needs and is not given stops it with *NeedCharts.
	Charts []FetchedChart
	// Fetch, when set, fetches what a render needs (see WithCharts); nil
	// fetches nothing.
	Fetch FetchFunc
	// Repository is the GitHub repository (owner/name) whose render this
	// is; Fetch hears it, for chart sources open to some repositories
	// only.
	Repository string
	// Sources are Flux chart sources read from the cluster, for a
	// HelmRelease whose path does not hold its HelmRepository or
	// OCIRepository. One it needs and is not given stops it with
	// *NeedCharts.
	Sources []FluxSource
	// LookupSource, when set, reads such a source from the environment's
	// cluster (see WithCharts); nil reads none.
	LookupSource SourceFunc
}

// Error is a render failure located in the repository.
type Error struct {
	File string // repo-relative; "" when no file is to blame
	Line int    // 1-based; 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line == 0:
		return e.File + ": " + e.Msg
	default:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
}

// source is what a renderer works on.
type source struct {
	jail  *jail
	env   *repoconfig.Environment
	dir   string // the environment's directory, resolved
	rel   string // the same, repo-relative
	entry string // repo-relative file that decided the kind: kustomization or Chart.yaml; "" for plain
	// generate builds a directory without a kustomization the way Flux
	// does, with the kustomization it would generate (fluxgen.go).
	generate bool
	// release, for a Flux HelmRelease whose chart comes from a chart
	// source, is what helm-controller installs (fluxhelm.go).
	release *fluxRelease
	// maxKeys, when not 0, stops renderPlain with errTooWide at a mapping
	// of more keys (see RenderPlain).
	maxKeys int
	opts    Options
}

// rendered is what a renderer returns, before Render's common checks.
type rendered struct {
	objects   []Object
	skipped   []Object
	namespace string // see Result.Namespace
}

type renderer func(*source) (*rendered, error)

// Render renders env's directory in the checkout at repoRoot. Failures a user
// can fix are *Error values naming the file (and line, where known).
//
// Charts from outside the repository come from opts.Charts and opts.Fetch;
// a chart it needs and cannot get is an *Error at the file that names it.
func Render(ctx context.Context, repoRoot string, env *repoconfig.Environment, opts Options) (*Result, error) {
	res, err := WithCharts(ctx, opts, func(o Options) (*Result, error) { return RenderOnce(ctx, repoRoot, env, o) })
	var need *NeedCharts
	if errors.As(err, &need) {
		return nil, Locate(need)
	}
	return res, err
}

// Locate is the error of a render that stopped needing charts it could
// not get: an *Error at the first file that names one.
func Locate(need *NeedCharts) error { return need.located() }

// RenderOnce is Render with the charts opts.Charts holds and no fetching:
// a chart it needs and is not given stops it with a *NeedCharts, for a
// caller that fetches elsewhere (renderproc's parent) to fetch and call
// again.
func RenderOnce(ctx context.Context, repoRoot string, env *repoconfig.Environment, opts Options) (*Result, error) {
	return render(ctx, repoRoot, env, opts, nil)
}

// RenderPlain is Render for an environment whose directory holds plain
// manifests and nothing that builds them (no kustomization, chart, helm
// settings, or reconciler that generates a kustomization), of at most
// maxBytes in all, with no mapping of more than maxKeysHere keys. For any
// other directory it returns ok false: the caller renders it elsewhere
// (renderproc's bounded child). Plain manifests are only parsed, never
// run, and so bounded the parse is linear in their size (aliases are
// bounded apart), so a caller may parse them in its own process.
func RenderPlain(ctx context.Context, repoRoot string, env *repoconfig.Environment, opts Options, maxBytes int64) (res *Result, ok bool, err error) {
	j, src, kind, run, err := prepare(repoRoot, env, opts)
	if err != nil {
		return nil, true, err
	}
	if kind != KindPlain {
		return nil, false, nil
	}
	size, err := plainSize(src)
	if err != nil {
		return nil, true, err
	}
	if size > maxBytes {
		return nil, false, nil
	}
	src.maxKeys = maxKeysHere
	res, err = finish(ctx, j, src, kind, run)
	if errors.Is(err, errTooWide) {
		return nil, false, nil
	}
	return res, true, err
}

// maxKeysHere bounds the keys of each mapping RenderPlain parses: past it
// the render is left to the child (see decodeBounded). At this bound the
// pairwise duplicate check costs at most half a million comparisons a
// mapping, about 0.1 s of CPU for 512 KiB of such mappings; objects
// people write have tens of keys a mapping, a large ConfigMap hundreds.
const maxKeysHere = 1000

// render is Render with a way for tests to replace the renderer.
func render(ctx context.Context, repoRoot string, env *repoconfig.Environment, opts Options, override renderer) (*Result, error) {
	j, src, kind, run, err := prepare(repoRoot, env, opts)
	if err != nil {
		return nil, err
	}
	if override != nil {
		run = override
	}
	return finish(ctx, j, src, kind, run)
}

// prepare opens env's directory and decides how it is rendered.
func prepare(repoRoot string, env *repoconfig.Environment, opts Options) (*jail, *source, string, renderer, error) {
	if env == nil {
		return nil, nil, "", nil, errors.New("render: no environment given")
	}
	j, err := newJail(repoRoot)
	if err != nil {
		return nil, nil, "", nil, fmt.Errorf("render %s: %w", env.Name, err)
	}
	src, err := open(j, env, opts)
	if err != nil {
		return nil, nil, "", nil, err
	}
	kind, err := detect(src) // sets src.entry
	if err != nil {
		return nil, nil, "", nil, err
	}
	run := map[string]renderer{KindKustomize: renderKustomize, KindHelm: renderHelm, KindPlain: renderPlain}[kind]
	switch {
	case fluxHelmRelease(src, kind):
		kind, run = KindHelm, renderFluxHelm
	case kind == KindPlain && fluxGenerates(src):
		kind, src.generate, run = KindKustomize, true, renderKustomize
	}
	return j, src, kind, run, nil
}

// finish runs the renderer and checks, places and sorts what it made.
func finish(ctx context.Context, j *jail, src *source, kind string, run renderer) (*Result, error) {
	env, opts := src.env, src.opts
	out, err := guard(ctx, src, kind, run)
	if err != nil {
		return nil, err
	}
	if err := check(out.objects); err != nil {
		return nil, err
	}
	if err := check(out.skipped); err != nil {
		return nil, err
	}
	namespace := cmp.Or(out.namespace, env.Namespace)
	if opts.Scope != nil {
		if err := setNamespaces(out.objects, namespace, opts.Scope); err != nil {
			return nil, err
		}
		placeHooks(out.skipped, namespace, opts.Scope)
	}
	if err := checkDuplicates(out.objects); err != nil {
		return nil, err
	}
	sortObjects(out.objects)
	sortObjects(out.skipped)
	return &Result{Kind: kind, Objects: out.objects, Skipped: out.skipped, Files: j.files(), Charts: chartSources(opts), Namespace: out.namespace}, nil
}

// Place finishes a result rendered without a Scope as Render finishes one
// with it: namespaced objects that name no namespace get namespace, and
// objects that now share an identity are refused. It is for renders done
// where the cluster's discovery is out of reach (renderproc's child
// process, which holds no cluster credentials). A result that decides its
// namespace (Result.Namespace) keeps it.
func Place(res *Result, namespace string, scope Scoper) error {
	namespace = cmp.Or(res.Namespace, namespace)
	if err := setNamespaces(res.Objects, namespace, scope); err != nil {
		return err
	}
	placeHooks(res.Skipped, namespace, scope)
	if err := checkDuplicates(res.Objects); err != nil {
		return err
	}
	sortObjects(res.Objects)
	sortObjects(res.Skipped)
	return nil
}

// open finds the environment's directory inside the repository.
func open(j *jail, env *repoconfig.Environment, opts Options) (*source, error) {
	p := path.Clean(filepath.ToSlash(env.Path))
	if env.Path == "" || path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
		return nil, &Error{File: repoconfig.FileName, Msg: fmt.Sprintf("environment %s: path %q must be a directory inside the repository", env.Name, env.Path)}
	}
	dir, fi, err := j.stat(filepath.FromSlash(p))
	switch {
	case err != nil:
		return nil, j.errorAt(p, err)
	case fi == nil:
		return nil, &Error{File: p, Msg: fmt.Sprintf("environment %s: directory does not exist; check its path in %s", env.Name, repoconfig.FileName)}
	case !fi.IsDir():
		return nil, &Error{File: p, Msg: fmt.Sprintf("environment %s: path is a file, not a directory; check its path in %s", env.Name, repoconfig.FileName)}
	}
	return &source{jail: j, env: env, dir: dir, rel: p, opts: opts}, nil
}

// detect says how the directory is rendered, by the files in it: a
// kustomization wins over a chart, either over plain YAML.
func detect(src *source) (string, error) {
	kind := KindPlain
	for _, name := range append(konfig.RecognizedKustomizationFileNames(), "Chart.yaml") {
		_, fi, err := src.jail.stat(filepath.Join(src.dir, name))
		if err != nil {
			return "", src.jail.errorAt(path.Join(src.rel, name), err)
		}
		if fi != nil && !fi.IsDir() {
			kind = KindKustomize
			if name == "Chart.yaml" {
				kind = KindHelm
			}
			src.entry = path.Join(src.rel, name)
			break
		}
	}
	if src.env.Helm != nil && src.env.Helm.Chart != nil {
		return detectRemote(src, kind)
	}
	if src.env.Helm != nil && kind != KindHelm {
		return "", &Error{File: src.rel, Msg: fmt.Sprintf("environment %s has helm settings but %s has no Chart.yaml; remove helm: from %s or point path at the chart", src.env.Name, src.rel, repoconfig.FileName)}
	}
	return kind, nil
}

// guard runs a renderer so that a panic becomes an error and ctx is
// honoured. The tools cannot be interrupted: on cancellation the render is
// abandoned to finish on its own; it only reads files.
func guard(ctx context.Context, src *source, kind string, run renderer) (*rendered, error) {
	type outcome struct {
		out *rendered
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: &Error{File: src.rel, Msg: fmt.Sprintf("%s render crashed: %v; this is a bug in slipway or the %s library, please report it", kind, p, kind)}}
			}
		}()
		out, err := run(src)
		done <- outcome{out, err}
	}()
	select {
	case o := <-done:
		if o.err == nil && o.out == nil {
			o.out = &rendered{}
		}
		return o.out, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("render %s: %w", src.env.Name, context.Cause(ctx))
	}
}

// check makes sure every object can be identified: apply needs all three.
func check(objs []Object) error {
	for _, o := range objs {
		u := o.Object
		var missing []string
		if u.GetAPIVersion() == "" {
			missing = append(missing, "apiVersion")
		}
		if u.GetKind() == "" {
			missing = append(missing, "kind")
		}
		if u.GetName() == "" {
			missing = append(missing, "metadata.name")
		}
		if len(missing) > 0 {
			return &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf("object %s has no %s; every object needs apiVersion, kind and metadata.name", describe(u), strings.Join(missing, " or "))}
		}
	}
	return nil
}

// describe names an object as well as it can be named.
func describe(u *unstructured.Unstructured) string {
	kind, name := u.GetKind(), u.GetName()
	switch {
	case kind == "" && name == "":
		return "(unnamed)"
	case kind == "":
		return name
	case name == "":
		return kind
	}
	if ns := u.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", kind, ns, name)
	}
	return kind + " " + name
}
