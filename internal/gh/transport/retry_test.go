package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/metrics"
)

// answer is one scripted reply of fakeGitHub: a status with headers and
// body, or a transport error.
type answer struct {
	status int
	header http.Header
	body   string
	err    error
}

// fakeGitHub answers from a script, then 200, and keeps what it was sent.
type fakeGitHub struct {
	mu      sync.Mutex
	script  []answer
	bodies  []string
	delay   time.Duration
	current atomic.Int32
	most    atomic.Int32
}

func (f *fakeGitHub) RoundTrip(r *http.Request) (*http.Response, error) {
	n := f.current.Add(1)
	defer f.current.Add(-1)
	for {
		m := f.most.Load()
		if n <= m || f.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(f.delay)
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, string(body))
	a := answer{status: http.StatusOK, body: `{}`}
	if len(f.script) > 0 {
		a, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	if a.err != nil {
		return nil, a.err
	}
	h := a.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(a.body)), Request: r}, nil
}

func (f *fakeGitHub) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func testOptions() Options {
	return Options{
		MaxRetryWait: 3 * time.Second,
		Attempts:     3,
		Backoff:      backoff.Policy{Base: time.Millisecond, Max: 2 * time.Millisecond},
	}.withDefaults()
}

// client is the middleware under test in front of fake, as NewCreator
// stacks it: retries outside, the installation's gate inside.
func client(o Options, fake http.RoundTripper, m *metrics.Metrics) (http.RoundTripper, *gate) {
	g := newGate(o.MaxConcurrentRequests, o.MaxRetryWait)
	return retrying(o, g, m)(g.middleware()(fake)), g
}

var (
	secondaryDoc = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	dialRefused  = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	resetByPeer  = &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestRetry(t *testing.T) {
	hourAhead := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	past := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	tests := []struct {
		name         string
		method, path string
		body         string
		script       []answer
		wantCalls    int
		wantStatus   int    // 0: an error is expected
		wantErr      string // part of the error
		wantRetries  map[string]float64
		atLeast      time.Duration // the call took at least this long
	}{
		{name: "secondary limit: 403 with Retry-After in seconds waits that long",
			method: "GET", path: "/repos/acme/shop",
			script:    []answer{{status: 403, header: hdr("Retry-After", "1"), body: secondaryDoc}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonSecondary: 1}, atLeast: time.Second},
		{name: "secondary limit: 429 with Retry-After as a date",
			method: "GET", path: "/repos/acme/shop",
			script:    []answer{{status: 429, header: hdr("Retry-After", time.Now().Add(-time.Second).UTC().Format(http.TimeFormat))}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonSecondary: 1}},
		{name: "secondary limit named only in the message means a minute: beyond the cap",
			method: "GET", path: "/repos/acme/shop",
			script:    []answer{{status: 403, body: secondaryDoc}},
			wantCalls: 1, wantErr: "GitHub secondary rate limit: lifts at"},
		{name: "primary limit whose reset has passed",
			method: "GET", path: "/repos/acme/shop",
			script:    []answer{{status: 403, header: hdr("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", past)}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonPrimary: 1}},
		{name: "primary limit an hour away fails saying when it lifts",
			method: "GET", path: "/repos/acme/shop",
			script:    []answer{{status: 403, header: hdr("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", hourAhead)}},
			wantCalls: 1, wantErr: "later than github.max_retry_wait (3s)"},
		{name: "a forbidden call that is no rate limit is not repeated",
			method: "GET", path: "/repos/acme/shop",
			script:    []answer{{status: 403, body: `{"message":"Resource not accessible by integration"}`}},
			wantCalls: 1, wantStatus: 403},
		{name: "GET after 502 is repeated",
			method: "GET", path: "/repos/acme/shop/pulls/1",
			script:    []answer{{status: 502}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonServer: 1}},
		{name: "GET gives up after Attempts with GitHub's last answer",
			method: "GET", path: "/repos/acme/shop/pulls/1",
			script:    []answer{{status: 503}, {status: 503}, {status: 503}, {status: 200}},
			wantCalls: 3, wantStatus: 503, wantRetries: map[string]float64{reasonServer: 2}},
		{name: "creating a comment is not repeated after a 502: it may have been made",
			method: "POST", path: "/repos/acme/shop/issues/1/comments", body: `{"body":"plan"}`,
			script:    []answer{{status: 502}},
			wantCalls: 1, wantStatus: 502},
		{name: "creating a check run is not repeated after a 504",
			method: "POST", path: "/repos/acme/shop/check-runs", body: `{"name":"slipway/plan: staging"}`,
			script:    []answer{{status: 504}},
			wantCalls: 1, wantStatus: 504},
		{name: "creating a comment is repeated after a rate limit: GitHub did nothing",
			method: "POST", path: "/repos/acme/shop/issues/1/comments", body: `{"body":"plan"}`,
			script:    []answer{{status: 403, header: hdr("Retry-After", "0"), body: secondaryDoc}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonSecondary: 1}},
		{name: "a reaction is repeated after a 502: GitHub answers an existing one with itself",
			method: "POST", path: "/repos/acme/shop/issues/comments/7/reactions", body: `{"content":"eyes"}`,
			script:    []answer{{status: 502}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonServer: 1}},
		{name: "a commit status is repeated after a 500",
			method: "POST", path: "/repos/acme/shop/statuses/abc123", body: `{"state":"success","context":"slipway"}`,
			script:    []answer{{status: 500}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonServer: 1}},
		{name: "a deployment status is not repeated after a 502",
			method: "POST", path: "/repos/acme/shop/deployments/3/statuses", body: `{"state":"success"}`,
			script:    []answer{{status: 502}},
			wantCalls: 1, wantStatus: 502},
		{name: "editing a comment is repeated after a 502",
			method: "PATCH", path: "/repos/acme/shop/issues/comments/7", body: `{"body":"plan"}`,
			script:    []answer{{status: 502}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonServer: 1}},
		{name: "a check run update without annotations is repeated",
			method: "PATCH", path: "/repos/acme/shop/check-runs/9", body: `{"name":"n","status":"completed","conclusion":"success","output":{"title":"t","summary":"s"}}`,
			script:    []answer{{status: 502}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonServer: 1}},
		{name: "a check run update with annotations is not repeated: GitHub appends them",
			method: "PATCH", path: "/repos/acme/shop/check-runs/9", body: `{"name":"n","output":{"title":"t","summary":"s","annotations":[{"path":"a","start_line":1,"end_line":1,"annotation_level":"failure","message":"m"}]}}`,
			script:    []answer{{status: 502}},
			wantCalls: 1, wantStatus: 502},
		{name: "a POST that could not connect is repeated: it never left",
			method: "POST", path: "/repos/acme/shop/issues/1/comments", body: `{"body":"plan"}`,
			script:    []answer{{err: dialRefused}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonTransport: 1}},
		{name: "a POST whose connection broke is not repeated: it may have arrived",
			method: "POST", path: "/repos/acme/shop/issues/1/comments", body: `{"body":"plan"}`,
			script:    []answer{{err: resetByPeer}},
			wantCalls: 1, wantErr: "connection reset by peer"},
		{name: "a GET whose connection broke is repeated",
			method: "GET", path: "/repos/acme/shop/pulls/1/files",
			script:    []answer{{err: resetByPeer}},
			wantCalls: 2, wantStatus: 200, wantRetries: map[string]float64{reasonTransport: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New()
			fake := &fakeGitHub{script: tt.script}
			rt, _ := client(testOptions(), fake, m)
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, "https://api.github.test"+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res, err := rt.RoundTrip(req)
			took := time.Since(start)
			switch {
			case tt.wantStatus == 0 && err == nil:
				t.Fatalf("answered %d, want an error containing %q", res.StatusCode, tt.wantErr)
			case tt.wantStatus == 0 && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
			case tt.wantStatus != 0 && err != nil:
				t.Fatalf("error %v, want %d", err, tt.wantStatus)
			case tt.wantStatus != 0 && res.StatusCode != tt.wantStatus:
				t.Fatalf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if res != nil {
				res.Body.Close()
			}
			if got := fake.calls(); got != tt.wantCalls {
				t.Errorf("GitHub was called %d times, want %d", got, tt.wantCalls)
			}
			for _, b := range fake.bodies {
				if b != tt.body {
					t.Errorf("sent body %q, want %q every time", b, tt.body)
				}
			}
			for _, reason := range []string{reasonPrimary, reasonSecondary, reasonServer, reasonTransport} {
				if got := testutil.ToFloat64(m.GitHubRetries.WithLabelValues(reason)); got != tt.wantRetries[reason] {
					t.Errorf("retries{%s} = %v, want %v", reason, got, tt.wantRetries[reason])
				}
			}
			if took < tt.atLeast {
				t.Errorf("took %v, want at least %v", took, tt.atLeast)
			}
		})
	}
}

// A body that cannot be asked for again is kept, so a retry sends it whole.
func TestRetryReplaysBodiesWithoutGetBody(t *testing.T) {
	fake := &fakeGitHub{script: []answer{{status: 429, header: hdr("Retry-After", "0")}}}
	rt, _ := client(testOptions(), fake, metrics.New())
	req, _ := http.NewRequest("POST", "https://api.github.test/repos/acme/shop/issues/1/comments", io.MultiReader(strings.NewReader(`{"body":`), strings.NewReader(`"x"}`)))
	if req.GetBody != nil {
		t.Fatal("the test needs a request without GetBody")
	}
	res, err := rt.RoundTrip(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("%v %v", res, err)
	}
	if len(fake.bodies) != 2 || fake.bodies[1] != `{"body":"x"}` {
		t.Errorf("bodies sent %q", fake.bodies)
	}
}

func TestRetryWaitEndsWithContext(t *testing.T) {
	o := testOptions()
	o.MaxRetryWait = 2 * time.Minute
	fake := &fakeGitHub{script: []answer{{status: 403, header: hdr("Retry-After", "60"), body: secondaryDoc}}}
	rt, _ := client(o, fake, metrics.New())
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://api.github.test/repos/acme/shop", nil)
	start := time.Now()
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the wait outlived its context: %v", took)
	}
	if fake.calls() != 1 {
		t.Errorf("%d calls, want 1", fake.calls())
	}
}

// After a limit beyond the cap, the installation's other calls fail at
// once, without spending requests, until it lifts.
func TestGateFailsFastWhileLimited(t *testing.T) {
	reset := time.Now().Add(time.Hour)
	fake := &fakeGitHub{script: []answer{{status: 403, header: hdr("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))}}}
	rt, _ := client(testOptions(), fake, metrics.New())
	for i := range 2 {
		req, _ := http.NewRequest("GET", "https://api.github.test/repos/acme/shop", nil)
		_, err := rt.RoundTrip(req)
		var limit *LimitError
		if !errors.As(err, &limit) || limit.Kind != Primary || limit.Resets.Sub(reset).Abs() > 2*time.Second {
			t.Fatalf("call %d: %v, want a primary *LimitError resetting at %v", i, err, reset)
		}
	}
	if fake.calls() != 1 {
		t.Errorf("GitHub called %d times, want 1", fake.calls())
	}
}

// A secondary limit holds back every call of the installation, not only
// the one that met it.
func TestGateHoldsBackOtherCalls(t *testing.T) {
	fake := &fakeGitHub{}
	rt, g := client(testOptions(), fake, metrics.New())
	g.closeUntil(Secondary, time.Now().Add(time.Second))
	start := time.Now()
	req, _ := http.NewRequest("GET", "https://api.github.test/repos/acme/shop", nil)
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("the call went out after %v, before the limit lifted", took)
	}
}

func TestGateBoundsConcurrency(t *testing.T) {
	o := testOptions()
	o.MaxConcurrentRequests = 2
	gs := &gates{concurrent: o.MaxConcurrentRequests, maxWait: o.MaxRetryWait}
	if gs.get(1) != gs.get(1) || gs.get(1) == gs.get(2) || gs.get(appGate) == gs.get(1) {
		t.Fatal("one gate per installation, and one for the App")
	}
	fake := &fakeGitHub{delay: 30 * time.Millisecond}
	stack := func(g *gate) http.RoundTripper { return retrying(o, g, metrics.New())(g.middleware()(fake)) }
	one, two := stack(gs.get(1)), stack(gs.get(2))
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt := one
			if i%2 == 1 {
				rt = two
			}
			req, _ := http.NewRequest("GET", "https://api.github.test/repos/acme/shop", nil)
			if res, err := rt.RoundTrip(req); err != nil {
				t.Error(err)
			} else {
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	// Two installations, two calls each at most.
	if most := fake.most.Load(); most != 4 {
		t.Errorf("at most %d calls in flight, want 4 (2 per installation)", most)
	}
}

func TestRateLimitClassifies(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		kind   string
		wait   time.Duration
	}{
		{"ok", 200, nil, "", "", 0},
		{"retry-after seconds", 403, hdr("Retry-After", "30"), "", Secondary, 30 * time.Second},
		{"429 without headers", 429, nil, "", Secondary, time.Minute},
		{"secondary message", 403, nil, secondaryDoc, Secondary, time.Minute},
		{"old abuse wording", 403, nil, `{"message":"You have triggered an abuse detection mechanism."}`, Secondary, time.Minute},
		{"primary without reset", 403, hdr("X-RateLimit-Remaining", "0"), "", Primary, time.Minute},
		{"permission", 403, nil, `{"message":"Resource not accessible by integration"}`, "", 0},
		{"not found", 404, hdr("Retry-After", "5"), "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			res := &http.Response{StatusCode: tt.status, Header: h, Body: io.NopCloser(strings.NewReader(tt.body))}
			kind, wait := RateLimit(res)
			if kind != tt.kind || wait != tt.wait {
				t.Errorf("RateLimit = %q %v, want %q %v", kind, wait, tt.kind, tt.wait)
			}
			if rest, _ := io.ReadAll(res.Body); string(rest) != tt.body {
				t.Errorf("body left %q, want it whole", rest)
			}
		})
	}
}
