package render

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{})) }

// env is an environment at path with the given namespace.
func env(path, namespace string) *repoconfig.Environment {
	return &repoconfig.Environment{Name: "test", Path: path, Namespace: namespace}
}

// refs names objects as Kind namespace/name, in order.
func refs(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Object.GetKind() + " " + o.Object.GetNamespace() + "/" + o.Object.GetName()
	}
	return out
}

// find returns the object of that kind and name.
func find(t *testing.T, objs []Object, kind, name string) Object {
	t.Helper()
	for _, o := range objs {
		if o.Object.GetKind() == kind && o.Object.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among %v", kind, name, refs(objs))
	return Object{}
}

// renderError renders and returns the *Error the render must fail with.
func renderError(t *testing.T, root string, e *repoconfig.Environment, opts Options) *Error {
	t.Helper()
	res, err := Render(context.Background(), root, e, opts)
	if err == nil {
		t.Fatalf("render succeeded with %v; want an error", refs(res.Objects))
	}
	var rerr *Error
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v (%T) is not a *render.Error", err, err)
	}
	return rerr
}

// snapshot is a render's bytes, for comparing two renders.
func snapshot(t *testing.T, res *Result) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Kind             string
		Objects, Skipped []any
		Files            []string
	}{res.Kind, objectsJSON(res.Objects), objectsJSON(res.Skipped), res.Files})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func objectsJSON(objs []Object) []any {
	var out []any
	for _, o := range objs {
		out = append(out, map[string]any{"object": o.Object.Object, "file": o.File, "line": o.Line})
	}
	return out
}

// copyTree copies a fixture into a fresh repository and returns its root.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "repo")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeFiles writes files (path → content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestDetection(t *testing.T) {
	tests := []struct {
		root, path, want string
	}{
		{"testdata/plain", "deploy/app", KindPlain},
		{"testdata/kustomize", "deploy/staging", KindKustomize},
		{"testdata/helm", "deploy/shop", KindHelm},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			res, err := Render(context.Background(), tt.root, env(tt.path, ""), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Kind != tt.want {
				t.Errorf("Kind = %q, want %q", res.Kind, tt.want)
			}
		})
	}
}

// The same tree must give byte-identical results: plans are compared by
// digest, and a reordering would look like a change.
func TestDeterministic(t *testing.T) {
	tests := []struct{ root, path string }{
		{"testdata/plain", "deploy/app"},
		{"testdata/kustomize", "deploy/staging"},
		{"testdata/helm", "deploy/shop"},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			var first string
			for i := range 5 {
				res, err := Render(context.Background(), tt.root, env(tt.path, "ns"), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if s := snapshot(t, res); i == 0 {
					first = s
				} else if s != first {
					t.Fatalf("render %d differs from the first:\n%s\n%s", i, s, first)
				}
			}
		})
	}
}

func TestEnvironmentPath(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{"missing", "deploy/nope", "does not exist"},
		{"a file", "deploy/app/10-multi.yaml", "is a file"},
		{"outside", "../render", "must be a directory inside the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := renderError(t, "testdata/plain", env(tt.path, ""), Options{})
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestHelmSettingsWithoutChart(t *testing.T) {
	e := env("deploy/app", "")
	e.Helm = &repoconfig.Helm{Release: "x"}
	err := renderError(t, "testdata/plain", e, Options{})
	if !strings.Contains(err.Msg, "no Chart.yaml") {
		t.Errorf("error %q does not say the chart is missing", err)
	}
}

func TestPanicBecomesError(t *testing.T) {
	crash := func(*source) (*rendered, error) {
		var m map[string]int
		m["boom"]++ // a nil map write: a real runtime panic
		return nil, nil
	}
	_, err := render(context.Background(), "testdata/plain", env("deploy/app", ""), Options{}, crash)
	var rerr *Error
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v (%T) is not a *render.Error", err, err)
	}
	if rerr.File != "deploy/app" || !strings.Contains(rerr.Msg, "crashed") || !strings.Contains(rerr.Msg, "nil map") {
		t.Errorf("error %q: want it located at deploy/app, saying the render crashed and why", rerr)
	}
}

func TestContextCancelled(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := func(*source) (*rendered, error) {
		<-release
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := render(ctx, "testdata/plain", env("deploy/app", ""), Options{}, stuck)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v; it must not wait for a stuck renderer", d)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Msg: "bad"}, "a.yaml:3: bad"},
		{Error{File: "a.yaml", Msg: "bad"}, "a.yaml: bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// The server renders several environments at once.
func TestConcurrentRenders(t *testing.T) {
	tests := []struct{ root, path string }{
		{"testdata/plain", "deploy/app"},
		{"testdata/kustomize", "deploy/staging"},
		{"testdata/helm", "deploy/shop"},
	}
	errs := make(chan error, 3*len(tests))
	for range 3 {
		for _, tt := range tests {
			go func() {
				_, err := Render(context.Background(), tt.root, env(tt.path, "ns"), Options{Scope: builtinScoper()})
				errs <- err
			}()
		}
	}
	for range 3 * len(tests) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
