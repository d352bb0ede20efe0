package renderproc

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// roundTrip sends a render's outcome through the child's answer and the
// parent's reading of it, as the protocol does.
func roundTrip(t *testing.T, res *render.Result, err error, limits Limits) (*render.Result, error) {
	t.Helper()
	resp, aerr := answer(res, err, limits.MaxObjects)
	if aerr != nil {
		t.Fatal(aerr)
	}
	b, merr := json.Marshal(resp)
	if merr != nil {
		t.Fatal(merr)
	}
	return decodeResponse("staging", b, limits)
}

func TestProtocolKeepsResults(t *testing.T) {
	obj := func(m map[string]any, file string, line int) render.Object {
		return render.Object{Object: &unstructured.Unstructured{Object: m}, File: file, Line: line}
	}
	in := &render.Result{
		Kind: render.KindPlain,
		Objects: []render.Object{obj(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web"},
			"spec": map[string]any{"replicas": int64(3), "ratio": 0.5, "big": int64(1) << 60, "list": []any{"a", int64(1), true, nil}}}, "deploy/app/web.yaml", 4)},
		Skipped: []render.Object{obj(map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "migrate"}}, "deploy/app/job.yaml", 0)},
		Files:   []string{"deploy/app/job.yaml", "deploy/app/web.yaml"},
	}
	out, err := roundTrip(t, in, nil, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("result changed on the way:\n got %#v\nwant %#v", out, in)
	}
}

func TestProtocolKeepsErrors(t *testing.T) {
	_, err := roundTrip(t, nil, &render.Error{File: "deploy/app/cm.yaml", Line: 7, Msg: "invalid YAML: did not find expected key"}, DefaultLimits())
	var located *render.Error
	if !errors.As(err, &located) || *located != (render.Error{File: "deploy/app/cm.yaml", Line: 7, Msg: "invalid YAML: did not find expected key"}) {
		t.Errorf("err = %#v; want the same *render.Error", err)
	}
	_, err = roundTrip(t, nil, errors.New("render staging: repository root is not a directory"), DefaultLimits())
	if errors.As(err, &located) || err == nil || err.Error() != "render staging: repository root is not a directory" {
		t.Errorf("err = %#v; want the same plain error", err)
	}
}

func TestProtocolCountsObjects(t *testing.T) {
	res := &render.Result{Kind: render.KindPlain}
	for range 3 {
		res.Objects = append(res.Objects, render.Object{Object: &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap"}}})
	}
	res.Skipped = res.Objects[:1]
	limits := DefaultLimits()
	limits.MaxObjects = 3
	_, err := roundTrip(t, res, nil, limits)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != KeyMaxObjects || le.Objects != 4 {
		t.Errorf("err = %v; want max_objects with 4 objects (hooks count)", err)
	}
	// The parent counts too, whatever the child says.
	b, _ := json.Marshal(response{Result: &result{Kind: "plain", Objects: make([]object, 5)}})
	if _, err := decodeResponse("staging", b, limits); !errors.As(err, &le) || le.Objects != 5 {
		t.Errorf("err = %v; want max_objects with 5 objects", err)
	}
}

func TestUnreadableAnswer(t *testing.T) {
	for _, data := range []string{"", "{", `{"result":null}`, `{"result":{"objects":[{"object":[1]}]}}`} {
		if _, err := decodeResponse("staging", []byte(data), DefaultLimits()); err == nil {
			t.Errorf("answer %q accepted", data)
		}
	}
}

func TestLimitMessages(t *testing.T) {
	tests := []struct {
		err  LimitError
		want string
	}{
		{LimitError{Env: "staging", Limit: KeyTimeout, Allowed: formatDuration(60 * time.Second)}, "render of staging stopped: it ran past render.timeout (60s)"},
		{LimitError{Env: "staging", Limit: KeyTimeout, Allowed: formatDuration(1500 * time.Millisecond)}, "render of staging stopped: it ran past render.timeout (1.5s)"},
		{LimitError{Env: "staging", Limit: KeyMaxMemory, Allowed: formatBytes(512 << 20)}, "render of staging stopped: it used more than render.max_memory (512Mi)"},
		{LimitError{Env: "staging", Limit: KeyMaxObjects, Allowed: "5000", Objects: 50000}, "render of staging stopped: it produced 50,000 objects, more than render.max_objects (5000)"},
		{LimitError{Env: "prod", Limit: KeyMaxOutput, Allowed: formatBytes(64 << 20)}, "render of prod stopped: its output was larger than render.max_output (64Mi)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); !strings.HasPrefix(got, tt.want+"; ") {
			t.Errorf("message %q\ndoes not start %q", got, tt.want)
		}
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 50000: "50,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLimitOfExit(t *testing.T) {
	tests := []struct {
		code   int
		stderr string
		want   string
	}{
		{exitGoFatal, "runtime: out of memory: cannot allocate 1002438656-byte block (7962624 in use)\nfatal error: out of memory\n", KeyMaxMemory},
		{exitGoFatal, "fatal error: runtime: cannot allocate memory\n", KeyMaxMemory},
		{exitGoFatal, "runtime: failed to create new OS thread (have 9 already; errno=12)\n", KeyMaxMemory},
		{exitGoFatal, "fatal error: too many address space collisions for -race mode\n", KeyMaxMemory},
		{exitGoFatal, "panic: assignment to entry in nil map\n", ""},
		{exitDeadline, "", KeyTimeout},
		{1, "out of memory", ""},
		{-1, "", ""},
	}
	for _, tt := range tests {
		if got := limitOfExit(tt.code, tt.stderr); got != tt.want {
			t.Errorf("limitOfExit(%d, %q) = %q, want %q", tt.code, tt.stderr, got, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	got := Limits{MaxObjects: 7}.orDefaults()
	want := Limits{Timeout: 60 * time.Second, MaxMemory: 512 << 20, MaxObjects: 7, MaxOutput: 64 << 20}
	if got != want {
		t.Errorf("orDefaults = %+v, want %+v", got, want)
	}
}

// The child gets what renderers may need, never the server's secrets.
func TestChildEnvironment(t *testing.T) {
	t.Setenv("GITHUB_APP_WEBHOOK_SECRET", "hunter2")
	t.Setenv("GITHUB_APP_PRIVATE_KEY", "-----BEGIN")
	t.Setenv("SLIPWAY_SERVER_MASK_KEY", "k")
	t.Setenv("HTTPS_PROXY", "http://proxy:3128")
	env := childEnviron()
	if !slices.Contains(env, childVar+"="+protocol) || !slices.Contains(env, "HTTPS_PROXY=http://proxy:3128") || !slices.Contains(env, "PATH="+os.Getenv("PATH")) {
		t.Errorf("child environment %q lacks the marker, PATH or the proxy", env)
	}
	for _, kv := range env {
		if strings.Contains(kv, "hunter2") || strings.HasPrefix(kv, "GITHUB_") || strings.HasPrefix(kv, "SLIPWAY_SERVER") {
			t.Errorf("child environment has %q", kv)
		}
	}
}

// The child renders what render.Render renders, byte for byte, errors
// included, with and without a Scope (applied in the parent).
func TestSameAsInProcess(t *testing.T) {
	helm := &repoconfig.Environment{Name: "staging", Path: "deploy/shop", Namespace: "shop-staging", Helm: &repoconfig.Helm{Release: "shop", Values: []string{"values-staging.yaml"}}}
	tests := []struct {
		root string
		env  *repoconfig.Environment
		fail bool
	}{
		{"../render/testdata/plain", &repoconfig.Environment{Name: "a", Path: "deploy/app", Namespace: "ns"}, false},
		{"../render/testdata/kustomize", &repoconfig.Environment{Name: "b", Path: "deploy/staging", Namespace: "ns"}, false},
		{"../render/testdata/helm", helm, false},
		{"../render/testdata/scoped", &repoconfig.Environment{Name: "c", Path: "deploy/app", Namespace: "ns"}, false},
		{"../render/testdata/plain", &repoconfig.Environment{Name: "missing", Path: "deploy/nowhere"}, true},
		{"../render/testdata/plain", &repoconfig.Environment{Name: "escape", Path: "../.."}, true},
	}
	for _, tt := range tests {
		for _, scope := range []render.Scoper{nil, render.Offline} {
			opts := render.Options{Scope: scope}
			want, wantErr := render.Render(context.Background(), tt.root, tt.env, opts)
			got, err := Render(context.Background(), tt.root, tt.env, opts, DefaultLimits())
			if (err != nil) != tt.fail || (got != nil && len(got.Objects) == 0) {
				t.Errorf("%s %s: %d objects, error %v; want a render with objects, or fail=%v", tt.root, tt.env.Path, count(got), err, tt.fail)
			}
			if !reflect.DeepEqual(err, wantErr) {
				t.Errorf("%s %s (scope %v): error %#v, in process %#v", tt.root, tt.env.Path, scope != nil, err, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s (scope %v): result differs from the in-process render:\n got %+v\nwant %+v", tt.root, tt.env.Path, scope != nil, got, want)
			}
		}
	}
}

func count(r *render.Result) int {
	if r == nil {
		return 0
	}
	return len(r.Objects)
}
