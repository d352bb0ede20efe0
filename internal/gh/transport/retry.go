package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/metrics"
)

// Retry reasons, the values of the retries metric's reason label.
const (
	reasonPrimary   = Primary
	reasonSecondary = Secondary
	reasonServer    = "server_error"
	reasonTransport = "transport"
)

// maxLimitRetries bounds how often one call waits out a rate limit, on top
// of the time bound, in case GitHub names no time (or a time already past)
// again and again.
const maxLimitRetries = 5

// retrying repeats a call that GitHub refused for a rate limit, answered
// 5xx, or that never got an answer, when doing so cannot do the work twice.
//
// What is repeated, and why:
//
//   - A rate-limit answer (primary or secondary) means GitHub did nothing:
//     every method is repeated, after the time GitHub names (plus jitter),
//     as long as the waits of one call stay within MaxRetryWait. Beyond that
//     the call fails with a *LimitError that says when the limit lifts, and
//     the installation's gate stays closed until then so other calls fail
//     fast instead of spending the quota's last requests.
//   - A call that never reached GitHub (no connection could be made, or no
//     installation token could be had) is repeated with backoff, whatever
//     its method.
//   - A 5xx answer or a connection lost mid-call may come after GitHub did
//     the work (a 502 on "create comment" often does). Such a call is
//     repeated, with backoff and at most Attempts times, only when
//     repeating it leaves GitHub as one call would (replaySafe). Other
//     calls — creating a comment, a check run, a deployment or its status,
//     and a check-run update carrying annotations, which GitHub appends —
//     are answered with the failure, and the caller, who knows what it
//     wrote, looks before it writes again (package gh does).
func retrying(o Options, g *gate, m *metrics.Metrics) githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			r, err := replayable(r)
			if err != nil {
				return nil, err
			}
			if r.Body != nil {
				// Every attempt sends a copy from GetBody; the original is
				// closed as a RoundTripper must.
				defer r.Body.Close()
			}
			ctx := r.Context()
			var failures, limits int
			var waited time.Duration
			for {
				res, err := o.attempt(next, r)
				v := o.judge(r, res, err, failures, limits, waited)
				if v.closeUntil.After(time.Now()) {
					g.closeUntil(v.reason, v.closeUntil)
				}
				switch {
				case v.giveUp != nil:
					discard(res)
					return nil, v.giveUp
				case !v.retry:
					return res, err
				}
				discard(res)
				if v.reason == reasonPrimary || v.reason == reasonSecondary {
					limits++
					waited += v.wait
				} else {
					failures++
				}
				m.GitHubRetries.WithLabelValues(v.reason).Inc()
				evt := zerolog.Ctx(ctx).Warn().
					Str("method", r.Method).
					Str("path", r.URL.Path).
					Int("attempt", failures+limits+1).
					Str("reason", v.reason).
					Dur("wait", v.wait)
				if res != nil {
					evt = evt.Int("status", res.StatusCode)
				}
				if err != nil {
					evt = evt.AnErr("cause", err)
				}
				evt.Msg("retrying GitHub call")
				// A rate limit's wait happens in the gate, which every call
				// of the installation passes; other waits are this call's own.
				if v.reason == reasonServer || v.reason == reasonTransport {
					if err := backoff.Sleep(ctx, v.wait); err != nil {
						return nil, err
					}
				}
			}
		})
	}
}

// verdict is what to do after one attempt.
type verdict struct {
	retry      bool
	reason     string
	wait       time.Duration
	giveUp     error
	closeUntil time.Time // keep the installation's calls back until then
}

func (o Options) judge(r *http.Request, res *http.Response, err error, failures, limits int, waited time.Duration) verdict {
	if r.Context().Err() != nil {
		return verdict{}
	}
	if err != nil {
		var tokenErr *ghinstallation.HTTPError
		if errors.As(err, &tokenErr) {
			discard(tokenErr.Response) // ghinstallation leaves it open
		}
		var limited *LimitError
		if errors.As(err, &limited) || failures+1 >= o.Attempts {
			return verdict{}
		}
		if notSent(err) || replaySafe(r) {
			return verdict{retry: true, reason: reasonTransport, wait: o.Backoff.Delay(failures + 1)}
		}
		return verdict{}
	}
	if kind, wait := RateLimit(res); kind != "" {
		resets := time.Now().Add(wait)
		if limits >= maxLimitRetries || waited+wait > o.MaxRetryWait {
			return verdict{reason: kind, closeUntil: resets, giveUp: &LimitError{Kind: kind, Resets: resets, MaxWait: o.MaxRetryWait}}
		}
		return verdict{retry: true, reason: kind, wait: wait, closeUntil: resets}
	}
	if !serverError(res.StatusCode) || failures+1 >= o.Attempts || !replaySafe(r) {
		return verdict{}
	}
	wait := o.Backoff.Delay(failures + 1)
	if named, ok := retryAfter(res.Header); ok {
		wait = min(max(wait, backoff.Jitter(named)), o.MaxRetryWait)
	}
	return verdict{retry: true, reason: reasonServer, wait: wait}
}

func serverError(code int) bool {
	switch code {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// notSent tells a failure that happened before the request left: no
// connection, or no installation token (ghinstallation fetches one first).
func notSent(err error) bool {
	var tokenErr *ghinstallation.HTTPError
	if errors.As(err, &tokenErr) {
		return true
	}
	var op *net.OpError
	var dns *net.DNSError
	return (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns)
}

var (
	reactionPath     = regexp.MustCompile(`/reactions$`)
	commitStatusPath = regexp.MustCompile(`/repos/[^/]+/[^/]+/statuses/[^/]+$`)
	accessTokenPath  = regexp.MustCompile(`/app/installations/\d+/access_tokens$`)
	checkRunPath     = regexp.MustCompile(`/repos/[^/]+/[^/]+/check-runs/\d+$`)
)

// replaySafe tells whether sending r twice leaves GitHub as sending it once.
// Reads, PUT and DELETE are idempotent. GitHub's PATCH endpoints that
// slipway uses set fields to values, except that a check-run update's
// annotations are appended. Among POSTs, a reaction that exists is answered
// with itself, a commit status is superseded by the next of its context,
// and a second installation token is harmless; every other POST creates
// something anew.
func replaySafe(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPatch:
		return !(checkRunPath.MatchString(r.URL.Path) && carriesAnnotations(r))
	case http.MethodPost:
		p := r.URL.Path
		return reactionPath.MatchString(p) || commitStatusPath.MatchString(p) || accessTokenPath.MatchString(p)
	}
	return false
}

func carriesAnnotations(r *http.Request) bool {
	if r.GetBody == nil {
		return true // cannot tell: assume the worst
	}
	body, err := r.GetBody()
	if err != nil {
		return true
	}
	defer body.Close()
	var doc struct {
		Output struct {
			Annotations []json.RawMessage `json:"annotations"`
		} `json:"output"`
	}
	if err := json.NewDecoder(body).Decode(&doc); err != nil {
		return true
	}
	return len(doc.Output.Annotations) > 0
}

// replayable makes sure r's body can be sent again: go-github's bodies can,
// anything else is read into memory once (GitHub API bodies are small).
func replayable(r *http.Request) (*http.Request, error) {
	if r.Body == nil || r.Body == http.NoBody || r.GetBody != nil {
		return r, nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	c := r.Clone(r.Context())
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	c.Body, _ = c.GetBody()
	c.ContentLength = int64(len(body))
	return c, nil
}

// attempt sends a fresh copy of r, bounded by AttemptTimeout until its
// body is closed.
func (o Options) attempt(next http.RoundTripper, r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), o.AttemptTimeout)
	req := r.Clone(ctx)
	if r.GetBody != nil {
		body, err := r.GetBody()
		if err != nil {
			cancel()
			return nil, err
		}
		req.Body = body
	}
	res, err := next.RoundTrip(req)
	if err != nil || res == nil {
		cancel()
		return res, err
	}
	res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
	return res, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// discard reads a little of an answer not handed on, so its connection can
// be reused, and closes it.
func discard(res *http.Response) {
	if res == nil || res.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
}
