package render

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
)

// renderKustomize builds the kustomization in process with krusty. Only
// built-in generators and transformers run (an exec, Go, container or
// starlark plugin, or a KRM function, is an error), helmCharts are refused,
// every file goes through the jail, and remote references are refused
// before kustomize can fetch them unless the caller allows them.
func renderKustomize(src *source) (*rendered, error) {
	kfile := src.entry
	fsys := newJailFS(src.jail)
	fsys.inspect = func(p string, data []byte) error {
		if err := vetAliases(src.jail.show(p), data); err != nil {
			return err
		}
		if !slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(p)) {
			return nil
		}
		return vetKustomization(src.jail.show(p), data, src.opts.AllowRemoteBases)
	}
	if src.opts.AllowRemoteBases {
		clones, err := kustomizeClones()
		if err != nil {
			return nil, &Error{File: kfile, Msg: err.Error()}
		}
		src.jail.extraRoot = clones
		fsys.removable = func(p string) bool { r, ok := clones(p); return ok && r == p }
	}

	if src.generate {
		data, err := fluxKustomization(src)
		if err != nil {
			return nil, err
		}
		kfile = generatedKustomization(src)
		fsys.generated = map[string][]byte{filepath.Join(src.dir, konfig.DefaultKustomizationFileName()): data}
	}

	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.DisabledPluginConfig() // built-ins only, statically linked
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	m, err := krusty.MakeKustomizer(opts).Run(fsys, src.dir)
	// A refused access wins over whatever kustomize made of it: it may have
	// swallowed the error, or buried it in a longer message.
	if v := src.jail.violated(); v != nil {
		var located *Error
		if errors.As(v, &located) {
			return nil, located
		}
		return nil, &Error{File: kfile, Msg: v.Error()}
	}
	if err != nil {
		msg := src.jail.relativize(err.Error())
		if located := locateYAMLError(msg, src.jail.files()); located != nil {
			return nil, located
		}
		return nil, &Error{File: kfile, Msg: msg}
	}
	out := &rendered{}
	for _, r := range m.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, &Error{File: kfile, Msg: fmt.Sprintf("%s: %v", r.CurId(), err)}
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(b, &obj); err != nil {
			return nil, &Error{File: kfile, Msg: fmt.Sprintf("%s: %v", r.CurId(), err)}
		}
		// kustomize does not say which file an object came from unless the
		// kustomization asks for origin annotations.
		out.objects = append(out.objects, Object{Object: &unstructured.Unstructured{Object: obj}})
	}
	return out, nil
}

// vetKustomization refuses what kustomize would do but slipway must not,
// before kustomize acts on the file. A file that does not parse is left to
// kustomize, whose message is better.
func vetKustomization(file string, data []byte, allowRemote bool) error {
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return nil
	}
	k.FixKustomization() // folds bases into resources, helmChartInflationGenerator into helmCharts
	if len(k.HelmCharts) > 0 || k.HelmGlobals != nil {
		return &Error{File: file, Msg: "helmCharts would run the helm program, which slipway does not do; make the chart its own environment (a path with Chart.yaml) instead"}
	}
	for _, ref := range references(&k) {
		remote, scheme := remoteRef(ref)
		switch {
		case !remote:
		case scheme == "file":
			return &Error{File: file, Msg: fmt.Sprintf("%q is a file:// reference, which would read the server's disk; use a path inside the repository", ref)}
		case !allowRemote:
			return &Error{File: file, Msg: fmt.Sprintf("%q is a remote reference and remote bases are disabled on this server; vendor it into the repository", ref)}
		default:
			if err := vetRemoteQuery(ref); err != nil {
				return &Error{File: file, Msg: err.Error()}
			}
		}
	}
	return nil
}

// references lists every string in a kustomization that kustomize may treat
// as a path or URL to load.
func references(k *types.Kustomization) []string {
	refs := slices.Concat(k.Resources, k.Components, k.Crds, k.Configurations,
		k.Generators, k.Transformers, k.Validators)
	for _, p := range k.PatchesStrategicMerge {
		refs = append(refs, string(p))
	}
	for _, p := range slices.Concat(k.Patches, k.PatchesJson6902) {
		refs = append(refs, p.Path)
	}
	for _, r := range k.Replacements {
		refs = append(refs, r.Path)
	}
	kv := func(s types.KvPairSources) {
		for _, f := range s.FileSources {
			refs = append(refs, f)
			if _, p, ok := strings.Cut(f, "="); ok {
				refs = append(refs, p) // "key=path"
			}
		}
		refs = append(refs, s.EnvSources...)
	}
	for _, g := range k.ConfigMapGenerator {
		kv(g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		kv(g.KvPairSources)
	}
	if p, ok := k.OpenAPI["path"]; ok {
		refs = append(refs, p)
	}
	return refs
}

// scpStyle is git's user@host:path form, which kustomize clones.
var scpStyle = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@[^/:]+[:/]`)

// remoteRef reports whether kustomize would fetch ref (by HTTP or by
// cloning it with git) rather than read it from the checkout: any URL,
// git's scp form, kustomize's scheme-less github.com/org/repo and go-getter's
// git:: prefix. It is a superset of what kustomize accepts, so an exotic
// spelling is refused rather than fetched.
func remoteRef(ref string) (bool, string) {
	ref = strings.TrimSpace(ref)
	if strings.Contains(ref, "\n") {
		return false, "" // inline YAML (a patch or plugin config), not a reference
	}
	lower := strings.ToLower(ref)
	if scheme, _, ok := strings.Cut(strings.TrimPrefix(lower, "git::"), "://"); ok {
		return true, scheme
	}
	for _, prefix := range []string{"git::", "github.com/", "github.com:"} {
		if strings.HasPrefix(lower, prefix) {
			return true, ""
		}
	}
	return scpStyle.MatchString(ref), ""
}

// vetRemoteQuery refuses kustomize's ?ref= (or ?version=) values that git
// would take for command-line options: kustomize hands them to git fetch
// after the URL, without "--".
func vetRemoteQuery(ref string) error {
	_, query, ok := strings.Cut(ref, "?")
	if !ok {
		return nil
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("%q: cannot parse its query: %v", ref, err)
	}
	for _, key := range []string{"ref", "version"} {
		if v := values.Get(key); strings.HasPrefix(v, "-") {
			return fmt.Errorf("%q: %s=%q looks like a git option; name a branch, tag or commit", ref, key, v)
		}
	}
	return nil
}

// kustomizeClones returns a function that admits paths inside kustomize's
// clones of remote git bases (temporary directories named kustomize-*):
// with remote bases allowed, their files are read from there. The jail then
// guards each clone as it guards the repository.
func kustomizeClones() (func(string) (string, bool), error) {
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	return func(p string) (string, bool) {
		rel, err := filepath.Rel(tmp, p)
		if err != nil || !filepath.IsLocal(rel) {
			return "", false
		}
		first, _, _ := strings.Cut(rel, string(filepath.Separator))
		if !strings.HasPrefix(first, "kustomize-") {
			return "", false
		}
		return filepath.Join(tmp, first), true
	}, nil
}

// kustomize reports a broken resource file as "... MalformedYAMLError:
// yaml: line 5: <problem> in File: extra.yaml", naming the file relative to
// the kustomization that listed it.
var malformedYAML = regexp.MustCompile(`MalformedYAMLError: yaml: line (\d+): (.+) in File: (\S+)$`)

// locateYAMLError points such an error at the file and line, when exactly
// one file the render read has that name.
func locateYAMLError(msg string, read []string) *Error {
	m := malformedYAML.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	var match string
	for _, f := range read {
		if f == m[3] || strings.HasSuffix(f, "/"+m[3]) {
			if match != "" {
				return nil // ambiguous: keep kustomize's own wording
			}
			match = f
		}
	}
	if match == "" {
		return nil
	}
	line, _ := strconv.Atoi(m[1])
	return &Error{File: match, Line: line, Msg: "invalid YAML: " + m[2]}
}
