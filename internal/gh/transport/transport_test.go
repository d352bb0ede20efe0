package transport_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/world"
)

type simWorld struct {
	sim    *githubsim.Sim
	m      *metrics.Metrics
	client *github.Client
	pr     int
}

// newSimWorld is an installation client on githubsim, answering as GitHub
// does by default (Cache-Control max-age=60), with a pull request open.
func newSimWorld(t *testing.T, opts transport.Options) *simWorld {
	t.Helper()
	return newSimWorldWith(t, world.Options{Files: map[string]string{"a": "b"}, GitHubCaching: true}, opts)
}

// newSimWorldWith is newSimWorld in a world made with wopts.
func newSimWorldWith(t *testing.T, wopts world.Options, opts transport.Options) *simWorld {
	t.Helper()
	w := world.New(t, wopts)
	pr := w.OpenPR(t, "change", "alice", map[string]string{"a": "c"})
	m := metrics.New()
	return &simWorld{sim: w.Sim, m: m, client: w.Client(t, opts, m), pr: pr}
}

var fastBackoff = backoff.Policy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}

func TestClientSitsOutLimitsAndFailures(t *testing.T) {
	w := newSimWorld(t, transport.Options{MaxRetryWait: 10 * time.Second, Backoff: fastBackoff})
	ctx := context.Background()
	for _, f := range []githubsim.Fault{
		githubsim.SecondaryRateLimit("GET", `/pulls/\d+$`, time.Second),
		githubsim.ServerError("GET", `/pulls/\d+$`, http.StatusBadGateway),
		githubsim.PrimaryRateLimit("GET", `/pulls/\d+$`, time.Now()),
		githubsim.ServerError("GET", `/pulls/\d+$`, http.StatusServiceUnavailable),
	} {
		if err := w.sim.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	pr, _, err := w.client.PullRequests.Get(ctx, "acme", "shop", w.pr)
	if err != nil {
		t.Fatalf("get pull request through four faults: %v", err)
	}
	if pr.GetNumber() != w.pr {
		t.Errorf("got pull request %d", pr.GetNumber())
	}
	if n := w.sim.PendingFaults(); n != 0 {
		t.Errorf("%d faults not met", n)
	}
	for reason, want := range map[string]float64{transport.ReasonSecondary: 1, transport.ReasonPrimary: 1, transport.ReasonServer: 2} {
		if got := testutil.ToFloat64(w.m.GitHubRetries.WithLabelValues(reason)); got != want {
			t.Errorf("retries{%s} = %v, want %v", reason, got, want)
		}
	}
	if got := testutil.ToFloat64(w.m.GitHubRateLimited.WithLabelValues(transport.Secondary)); got != 1 {
		t.Errorf("rate_limited{secondary} = %v", got)
	}

	// A limit longer than the cap: the caller learns when it lifts, through
	// go-github, and the next call does not spend a request.
	reset := time.Now().Add(time.Hour)
	if err := w.sim.InjectFault(githubsim.PrimaryRateLimit("GET", `/pulls/\d+$`, reset)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, _, err = w.client.PullRequests.Get(ctx, "acme", "shop", w.pr)
		var limit *transport.LimitError
		if !errors.As(err, &limit) || limit.Resets.Sub(reset).Abs() > 2*time.Second {
			t.Fatalf("error %v, want *LimitError resetting at %v", err, reset)
		}
	}
	faults := 0
	for _, r := range w.sim.Requests() {
		if r.Fault {
			faults++
		}
	}
	if faults != 5 {
		t.Errorf("%d faulted requests, want 5: a gate closed for an hour sends nothing", faults)
	}
}

func TestClientDoesNotRepeatCreatesAfterA502(t *testing.T) {
	w := newSimWorld(t, transport.Options{Backoff: fastBackoff})
	if err := w.sim.InjectFault(githubsim.LostAnswer("POST", `/issues/\d+/comments$`, http.StatusBadGateway)); err != nil {
		t.Fatal(err)
	}
	_, _, err := w.client.Issues.CreateComment(context.Background(), "acme", "shop", w.pr, &github.IssueComment{Body: github.String("plan")})
	var answered *github.ErrorResponse
	if !errors.As(err, &answered) || answered.Response.StatusCode != http.StatusBadGateway {
		t.Fatalf("error %v, want the 502 handed to the caller", err)
	}
	if got := w.sim.Comments("acme/shop", w.pr); len(got) != 1 {
		t.Errorf("%d comments, want the 1 the lost answer made", len(got))
	}
}

// GitHub's answers carry max-age=60; slipway revalidates every time, so a
// read is never a minute stale, and an unchanged one costs a 304.
func TestConditionalRequests(t *testing.T) {
	w := newSimWorld(t, transport.Options{})
	ctx := context.Background()
	get := func() string {
		comments, _, err := w.client.Issues.ListComments(ctx, "acme", "shop", w.pr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(comments) == 0 {
			return ""
		}
		return comments[len(comments)-1].GetBody()
	}
	if _, err := w.sim.Comment("acme/shop", w.pr, "alice", "first"); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "first" {
		t.Fatalf("first read %q", got)
	}
	w.sim.ResetLog()
	if got := get(); got != "first" {
		t.Errorf("revalidated read %q, want the cached body", got)
	}
	if reqs := w.sim.Requests(); len(reqs) != 1 || reqs[0].Status != http.StatusNotModified {
		t.Errorf("requests %+v, want one answered 304", reqs)
	}
	if got := testutil.ToFloat64(w.m.GitHubCached); got != 1 {
		t.Errorf("cached answers %v, want 1", got)
	}
	if _, err := w.sim.Comment("acme/shop", w.pr, "alice", "second"); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "second" {
		t.Errorf("read after a change %q, want it, not the cached answer", got)
	}
	for _, path := range []string{"pull request", "files", "check runs"} {
		var call func() (*github.Response, error)
		switch path {
		case "pull request":
			call = func() (*github.Response, error) {
				_, res, err := w.client.PullRequests.Get(ctx, "acme", "shop", w.pr)
				return res, err
			}
		case "files":
			call = func() (*github.Response, error) {
				_, res, err := w.client.PullRequests.ListFiles(ctx, "acme", "shop", w.pr, nil)
				return res, err
			}
		case "check runs":
			call = func() (*github.Response, error) {
				_, res, err := w.client.Checks.ListCheckRunsForRef(ctx, "acme", "shop", "main", nil)
				return res, err
			}
		}
		if _, err := call(); err != nil {
			t.Fatal(err)
		}
		res, err := call()
		if err != nil || res.Header.Get("X-From-Cache") == "" {
			t.Errorf("%s: second read not served from a revalidated cache (%v)", path, err)
		}
	}
}
