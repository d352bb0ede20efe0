// Package renderproc renders an environment in a child process bounded in
// time, memory, object count and output size, so that a pull request's
// manifests (untrusted code: Helm templates, Kustomize trees) can neither
// take the server down nor keep running once their time is up.
//
// The child is this same executable run again (child.go): nothing more to
// ship or install, and always the same version as the server that asks.
// The parent kills the child's whole process group on a breach and reaps
// it before Render returns.
//
// Plain manifests run no code: up to inProcessMax bytes of them are parsed
// in the caller's process, held to the same object limit, which spares
// the child's start and the copy of every object through its pipe.
package renderproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Limits bound one render. A zero field takes its default.
type Limits struct {
	// Timeout is the wall-clock time from starting the child to its answer.
	Timeout time.Duration
	// MaxMemory is the most memory the child's Go runtime may hold.
	MaxMemory int64
	// MaxObjects caps the objects (hooks included) one environment renders.
	MaxObjects int
	// MaxOutput caps the bytes of the child's answer, which the server
	// reads into memory.
	MaxOutput int64
}

// Defaults, named so the server config and its documentation use them.
const (
	DefaultTimeout    = 60 * time.Second
	DefaultMaxMemory  = 512 << 20
	DefaultMaxObjects = 5000
	DefaultMaxOutput  = 64 << 20
)

// DefaultLimits are the limits of a server config that sets none.
func DefaultLimits() Limits {
	return Limits{Timeout: DefaultTimeout, MaxMemory: DefaultMaxMemory, MaxObjects: DefaultMaxObjects, MaxOutput: DefaultMaxOutput}
}

func (l Limits) orDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = d.MaxMemory
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = d.MaxOutput
	}
	return l
}

// stderrBytes is how much of the child's stderr is kept for the log: the
// start, where a Go runtime failure says what it was.
const stderrBytes = 8 << 10

// waitDelay bounds how long Wait waits for the child's output pipes after
// the child is gone (a grandchild may hold them), so Render always returns.
const waitDelay = 2 * time.Second

// Render renders env in the checkout at repoRoot, as render.Render does, in
// a child process held to limits (small plain manifests: here, see
// inProcessMax). A breach is a *LimitError; a failure the
// user can fix is a *render.Error, located as render.Render locates it.
//
// opts.Scope is applied here, in the parent, once the objects are back: the
// child holds no cluster credentials, and the objects are few (max_objects)
// by then.
func Render(ctx context.Context, repoRoot string, env *repoconfig.Environment, opts render.Options, limits Limits) (*render.Result, error) {
	if env == nil {
		return nil, errors.New("render: no environment given")
	}
	limits = limits.orDefaults()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		return nil, fmt.Errorf("render %s: repository root %s: %w", env.Name, repoRoot, err)
	}
	if res, ok, err := renderHere(ctx, root, env, opts, limits); ok {
		return res, noteLimit(ctx, env, err)
	}
	// One deadline covers the charts fetched for the render and every run
	// of the child: fetching is part of the render's time.
	start := time.Now()
	fctx, stop := context.WithTimeoutCause(ctx, limits.Timeout, errTimedOut)
	defer stop()
	res, err := render.WithCharts(fctx, opts, func(o render.Options) (*render.Result, error) {
		left := limits.Timeout - time.Since(start)
		if left <= 0 {
			return nil, &LimitError{Env: env.Name, Limit: KeyTimeout, Allowed: formatDuration(limits.Timeout)}
		}
		req := request{Root: root, Env: env, AllowRemoteBases: o.AllowRemoteBases, Charts: o.Charts, Sources: o.Sources, Capabilities: o.Capabilities, MaxMemory: limits.MaxMemory, MaxObjects: limits.MaxObjects, Timeout: left}
		return run(ctx, req, limits, left)
	})
	var le *LimitError
	if err != nil && !errors.As(err, &le) && ctx.Err() == nil && (errors.Is(context.Cause(fctx), errTimedOut) || errors.Is(err, context.DeadlineExceeded)) {
		// A fetch that ran past the render's time (its own clock may
		// tell first).
		err = &LimitError{Env: env.Name, Limit: KeyTimeout, Allowed: formatDuration(limits.Timeout)}
	}
	var need *render.NeedCharts
	if errors.As(err, &need) {
		return nil, render.Locate(need)
	}
	if err := noteLimit(ctx, env, err); err != nil {
		return nil, err
	}
	if opts.Scope != nil {
		if err := render.Place(res, env.Namespace, opts.Scope); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// noteLimit logs a render stopped at a limit, so that operators see who
// keeps hitting which limit, without the plan; it returns err.
func noteLimit(ctx context.Context, env *repoconfig.Environment, err error) error {
	var le *LimitError
	if errors.As(err, &le) {
		zerolog.Ctx(ctx).Warn().Str("env", env.Name).Str("limit", le.Limit).Str("allowed", le.Allowed).Msg("render stopped at a limit")
	}
	return err
}

// inProcessMax is the most bytes of plain manifests parsed in this process
// rather than in the child. Plain manifests are only parsed, never run,
// and the parse is linear in their size (aliases are bounded apart): the
// worst YAML measured, a flow list of one-letter items, allocates about
// 200 bytes per byte parsed, so 512 KiB of it costs at most about 100 MiB,
// a fifth of the child's default memory limit. A thousand objects of
// YAML as people write it take 300 to 600 KiB. Below it, the render
// spares a process start (the executable's initialisation alone is about
// 25 ms of CPU) and a copy of every object through the pipe.
const inProcessMax = 512 << 10

// renderHere renders env in this process when its directory holds plain
// manifests of at most inProcessMax bytes (and at most limits.MaxOutput,
// the most the child's answer may hold), held to limits.MaxObjects as
// the child is; ok is false for anything else, for the child to render.
func renderHere(ctx context.Context, root string, env *repoconfig.Environment, opts render.Options, limits Limits) (*render.Result, bool, error) {
	res, ok, err := render.RenderPlain(ctx, root, env, opts, min(inProcessMax, limits.MaxOutput))
	if !ok || err != nil {
		return nil, ok, err
	}
	if n := len(res.Objects) + len(res.Skipped); n > limits.MaxObjects {
		return nil, true, &LimitError{Env: env.Name, Limit: KeyMaxObjects, Allowed: fmt.Sprint(limits.MaxObjects), Objects: n}
	}
	return res, true, nil
}

// errTimedOut is the cause of the child's context ending at the timeout.
var errTimedOut = errors.New("render timed out")

// run starts the child, feeds it req and reads its answer, killing its
// process group on any breach. It returns only once the child is reaped and
// every goroutine it started has ended.
//
// budget is the time left of limits.Timeout, which messages name.
func run(ctx context.Context, req request, limits Limits, budget time.Duration) (*render.Result, error) {
	name := req.Env.Name
	body, err := encodeRequest(req)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	exe, err := executable()
	if err != nil {
		return nil, fmt.Errorf("render %s: find slipway's own executable to run the render in: %w", name, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cctx, stop := context.WithTimeoutCause(cctx, budget, errTimedOut)
	defer stop()

	cmd := exec.CommandContext(cctx, exe)
	cmd.Args[0] = "slipway-render"
	cmd.Dir = req.Root
	cmd.Env = childEnviron()
	cmd.Stdin = bytes.NewReader(body)
	out := &cappedBuffer{max: limits.MaxOutput, over: cancel}
	cmd.Stdout = out
	stderr := &headBuffer{max: stderrBytes}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	isolate(cmd) // own process group; Cancel kills all of it
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("render %s: start the render process: %w", name, err)
	}
	pid := cmd.Process.Pid
	var overMemory atomic.Bool
	stopWatch := watchRSS(pid, limits.MaxMemory, func() { overMemory.Store(true); cancel() })
	waitExited(pid)
	stopWatch()
	// Whatever the child left in its group (git, for a remote base) goes
	// with it, even when the child itself exited cleanly.
	killGroup(pid)
	waitErr := cmd.Wait()

	switch {
	case out.exceeded:
		return nil, &LimitError{Env: name, Limit: KeyMaxOutput, Allowed: formatBytes(limits.MaxOutput)}
	case overMemory.Load():
		return nil, &LimitError{Env: name, Limit: KeyMaxMemory, Allowed: formatBytes(limits.MaxMemory)}
	case waitErr == nil:
		return decodeResponse(name, out.buf.Bytes(), limits)
	case errors.Is(context.Cause(cctx), errTimedOut):
		return nil, &LimitError{Env: name, Limit: KeyTimeout, Allowed: formatDuration(limits.Timeout)}
	case ctx.Err() != nil:
		return nil, fmt.Errorf("render %s: %w", name, context.Cause(ctx))
	}
	return nil, exitError(ctx, name, waitErr, stderr.buf.String(), limits)
}

// exitError explains a child that ended without an answer.
func exitError(ctx context.Context, name string, waitErr error, stderr string, limits Limits) error {
	code := -1
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		code = ee.ExitCode()
	}
	switch limitOfExit(code, stderr) {
	case KeyMaxMemory:
		return &LimitError{Env: name, Limit: KeyMaxMemory, Allowed: formatBytes(limits.MaxMemory)}
	case KeyTimeout:
		return &LimitError{Env: name, Limit: KeyTimeout, Allowed: formatDuration(limits.Timeout)}
	}
	zerolog.Ctx(ctx).Error().Str("env", name).Err(waitErr).Str("stderr", stderr).Msg("render process failed")
	return fmt.Errorf("render of %s failed: the render process ended without an answer (%v); this is a bug in slipway or a library it renders with: comment /plan to retry, and report it if it persists", name, waitErr)
}

// limitOfExit names the limit a child's exit code and the start of its
// stderr tell of, or "".
func limitOfExit(code int, stderr string) string {
	switch {
	case code == exitDeadline:
		return KeyTimeout
	case code != exitGoFatal:
		return ""
	}
	// The Go runtime's words when the hard cap (capMemory) refuses an
	// allocation, a heap arena or a thread's stack (errno 12 is ENOMEM);
	// the last is a -race build's, whose heap must sit at fixed addresses.
	for _, oom := range []string{"out of memory", "cannot allocate memory", "errno=12", "too many address space collisions"} {
		if strings.Contains(stderr, oom) {
			return KeyMaxMemory
		}
	}
	return ""
}

// cappedBuffer keeps up to max bytes; past that it records the breach,
// calls over (which kills the child) and refuses the rest. It holds its
// buffer in a field, not embedded: an embedded bytes.Buffer's ReadFrom
// would let io.Copy write around Write and its cap.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int64
	exceeded bool
	over     func()
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.exceeded || int64(b.buf.Len())+int64(len(p)) > b.max {
		if !b.exceeded {
			b.exceeded = true
			b.over()
		}
		return 0, errors.New("render output over its limit")
	}
	return b.buf.Write(p)
}

// headBuffer keeps the first max bytes and drops the rest, never blocking
// the writer.
type headBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
