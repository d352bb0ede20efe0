package renderproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// The protocol: the parent writes one request as JSON on the child's
// stdin; the child writes one response as JSON on its stdout and exits 0.
// Any other ending is told by the exit code.

// request is what the child needs to render: no cluster credentials, no
// server config, no secrets.
type request struct {
	Root             string                  `json:"root"` // absolute
	Env              *repoconfig.Environment `json:"env"`
	AllowRemoteBases bool                    `json:"allow_remote_bases,omitempty"`
	// Capabilities are the cluster's, discovered by the parent: the child
	// never talks to the cluster.
	Capabilities *render.Capabilities `json:"capabilities,omitempty"`
	// Charts are archives the parent fetched (render.Options.Charts).
	Charts []render.FetchedChart `json:"charts,omitempty"`
	// Sources are Flux chart sources the parent read from the cluster
	// (render.Options.Sources): their spec only.
	Sources    []render.FluxSource `json:"sources,omitempty"`
	MaxMemory  int64               `json:"max_memory"`
	MaxObjects int                 `json:"max_objects"`
	// Timeout lets the child end itself a little after the parent should
	// have killed it, should the parent be gone.
	Timeout time.Duration `json:"timeout"`
}

// response is the child's answer: a result or a failure.
type response struct {
	Result *result  `json:"result,omitempty"`
	Error  *failure `json:"error,omitempty"`
}

type result struct {
	Kind    string   `json:"kind"`
	Objects []object `json:"objects"`
	Skipped []object `json:"skipped,omitempty"`
	Files   []string `json:"files"`
	Charts  []string `json:"charts,omitempty"`
	// Namespace is render.Result.Namespace.
	Namespace string `json:"namespace,omitempty"`
}

type object struct {
	Object json.RawMessage `json:"object"`
	File   string          `json:"file,omitempty"`
	Line   int             `json:"line,omitempty"`
}

// failure is an error as a value, so a *render.Error keeps its File and
// Line across the process boundary.
type failure struct {
	Located bool   `json:"located,omitempty"` // a *render.Error
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Msg     string `json:"msg"`
	// Objects is set when the render made more objects than max_objects.
	Objects int `json:"objects,omitempty"`
	// Needs are charts the render needs the parent to fetch.
	Needs []render.Need `json:"needs,omitempty"`
	// Sources are Flux chart sources it needs the parent to read.
	Sources []render.NeedSource `json:"sources,omitempty"`
}

// Exit codes of a child that cannot answer.
const (
	exitGoFatal   = 2 // the Go runtime's own: a fatal error or an unrecovered panic
	exitDeadline  = 4 // the child's own deadline, past the parent's timeout
	exitBadInput  = 5 // the request could not be read
	exitBadOutput = 6 // the response could not be written
)

func encodeRequest(req request) ([]byte, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode the render request: %w", err)
	}
	return b, nil
}

// answer is the child's response to a render's outcome.
func answer(res *render.Result, err error, maxObjects int) (*response, error) {
	if err != nil {
		var located *render.Error
		var need *render.NeedCharts
		if errors.As(err, &need) {
			return &response{Error: &failure{Needs: need.Needs, Sources: need.Sources, Msg: need.Error()}}, nil
		}
		if errors.As(err, &located) {
			return &response{Error: &failure{Located: true, File: located.File, Line: located.Line, Msg: located.Msg}}, nil
		}
		return &response{Error: &failure{Msg: err.Error()}}, nil
	}
	if n := len(res.Objects) + len(res.Skipped); n > maxObjects {
		return &response{Error: &failure{Objects: n, Msg: "too many objects"}}, nil
	}
	objects, err := encodeObjects(res.Objects)
	if err != nil {
		return nil, err
	}
	skipped, err := encodeObjects(res.Skipped)
	if err != nil {
		return nil, err
	}
	return &response{Result: &result{Kind: res.Kind, Objects: objects, Skipped: skipped, Files: res.Files, Charts: res.Charts, Namespace: res.Namespace}}, nil
}

func encodeObjects(objs []render.Object) ([]object, error) {
	out := make([]object, len(objs))
	for i, o := range objs {
		b, err := json.Marshal(o.Object.Object)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", o.Object.GetKind(), o.Object.GetName(), err)
		}
		out[i] = object{Object: b, File: o.File, Line: o.Line}
	}
	return out, nil
}

// decodeResponse turns the child's answer back into what render.Render
// would have returned.
func decodeResponse(env string, data []byte, limits Limits) (*render.Result, error) {
	var resp response
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("render %s: the render process's answer is not readable (%v); this is a bug in slipway, please report it", env, err)
	}
	if f := resp.Error; f != nil {
		switch {
		case f.Objects > 0:
			return nil, &LimitError{Env: env, Limit: KeyMaxObjects, Allowed: fmt.Sprint(limits.MaxObjects), Objects: f.Objects}
		case len(f.Needs) > 0 || len(f.Sources) > 0:
			return nil, &render.NeedCharts{Needs: f.Needs, Sources: f.Sources}
		case f.Located:
			return nil, &render.Error{File: f.File, Line: f.Line, Msg: f.Msg}
		}
		return nil, errors.New(f.Msg)
	}
	r := resp.Result
	if r == nil {
		return nil, fmt.Errorf("render %s: the render process answered nothing; this is a bug in slipway, please report it", env)
	}
	// The child counted already; counting again costs nothing and does not
	// trust the child to have done it.
	if n := len(r.Objects) + len(r.Skipped); n > limits.MaxObjects {
		return nil, &LimitError{Env: env, Limit: KeyMaxObjects, Allowed: fmt.Sprint(limits.MaxObjects), Objects: n}
	}
	objects, err := decodeObjects(r.Objects)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", env, err)
	}
	skipped, err := decodeObjects(r.Skipped)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", env, err)
	}
	return &render.Result{Kind: r.Kind, Objects: objects, Skipped: skipped, Files: r.Files, Charts: r.Charts, Namespace: r.Namespace}, nil
}

// decodeObjects decodes each object as the renderers do (utiljson: whole
// numbers become int64), so a result is the same on either side.
func decodeObjects(objs []object) ([]render.Object, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	out := make([]render.Object, len(objs))
	for i, o := range objs {
		var m map[string]any
		if err := utiljson.Unmarshal(o.Object, &m); err != nil {
			return nil, fmt.Errorf("decode object %d of the render: %w", i, err)
		}
		out[i] = render.Object{Object: &unstructured.Unstructured{Object: m}, File: o.File, Line: o.Line}
	}
	return out, nil
}
