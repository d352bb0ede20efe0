package renderproc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/render"
)

// childVar in the environment makes a process a render child; its value is
// the protocol version. The leading underscore keeps it out of the
// SLIPWAY_<SECTION>_<KEY> names that override the server config.
const (
	childVar = "_SLIPWAY_RENDER_CHILD"
	protocol = "1"
)

// The child is entered from init, not from a hook each main or TestMain
// must call, on purpose: any binary that can ask for a bounded render (it
// links this package) can also be the child, test binaries included. With
// a hook, a binary that forgot it would, re-executed, run itself again from
// the top (a server starting a server; a test binary re-running its tests,
// each rendering, without end). The init runs after the packages it
// imports (the renderers) are initialised and exits before main.
func init() {
	if v, ok := os.LookupEnv(childVar); ok {
		os.Exit(runChild(v))
	}
}

// Timing of the child's own guards.
const (
	// deadlineGrace is how long past the parent's timeout the child waits
	// before it ends itself: the parent normally kills it first.
	deadlineGrace = 5 * time.Second
	// maxRequest bounds the request the child reads: the environment and
	// the cluster's capabilities, whose API versions run to a few hundred
	// KiB on a cluster with thousands of CRDs.
	maxRequest = 16 << 20
)

func runChild(version string) int {
	// Whatever a library prints goes to stderr: stdout carries the answer.
	answerTo := os.Stdout
	os.Stdout = os.Stderr
	if version != protocol {
		fmt.Fprintf(os.Stderr, "render child: protocol %q, want %q\n", version, protocol)
		return exitBadInput
	}
	var req request
	if err := json.NewDecoder(io.LimitReader(os.Stdin, maxRequest)).Decode(&req); err != nil || req.Env == nil {
		fmt.Fprintf(os.Stderr, "render child: read the request: %v\n", err)
		return exitBadInput
	}
	bound(req)
	// RenderOnce: a chart it needs is the parent's to fetch, which holds
	// the credentials and the cache; the child has no network business.
	res, err := render.RenderOnce(context.Background(), req.Root, req.Env, render.Options{AllowRemoteBases: req.AllowRemoteBases, Charts: req.Charts, Sources: req.Sources, Capabilities: req.Capabilities})
	resp, err := answer(res, err, req.MaxObjects)
	if err != nil {
		resp = &response{Error: &failure{Msg: fmt.Sprintf("render %s: %v", req.Env.Name, err)}}
	}
	w := bufio.NewWriter(answerTo)
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		fmt.Fprintf(os.Stderr, "render child: write the answer: %v\n", err)
		return exitBadOutput
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "render child: write the answer: %v\n", err)
		return exitBadOutput
	}
	return 0
}

// bound holds the child to its memory limit and its own deadline.
//
// Memory is bounded three ways, because no one of them suffices for Go:
// debug.SetMemoryLimit here makes the garbage collector work to stay under
// the limit (a soft limit: live data past it is allowed); the parent reads
// the child's resident memory every few milliseconds and kills it past the
// limit (watchRSS: it does not depend on the child's scheduler, which a
// huge allocation can keep from running a watchdog goroutine for seconds);
// and capMemory sets a hard cap so that one huge allocation between two
// looks fails at once instead of taking the machine's memory.
func bound(req request) {
	debug.SetMemoryLimit(req.MaxMemory)
	if err := capMemory(req.MaxMemory); err != nil {
		fmt.Fprintf(os.Stderr, "render child: no hard memory cap: %v\n", err)
	}
	time.AfterFunc(req.Timeout+deadlineGrace, func() { os.Exit(exitDeadline) })
}

// childEnviron is the child's environment: the marker and what the
// renderers may need (git for remote bases: PATH, HOME, proxies,
// certificates), never the server's secrets (GITHUB_APP_*, SLIPWAY_*).
func childEnviron() []string {
	env := []string{childVar + "=" + protocol}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if keepVar(name) {
			env = append(env, kv)
		}
	}
	return env
}

func keepVar(name string) bool {
	switch strings.ToUpper(name) {
	case "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "GOCOVERDIR", "GOMAXPROCS", "GOTRACEBACK":
		return true
	}
	return strings.HasPrefix(name, "GIT_")
}
