// Package ghclient builds the GitHub API clients slipway uses: one per
// installation, cached, with request logging, metrics and rate-limit
// reporting.
package ghclient

import (
	"net/http"
	"strconv"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/version"
)

// DefaultTimeout bounds one GitHub API call.
const DefaultTimeout = 30 * time.Second

// NewCreator returns go-githubapp's caching client creator (ghinstallation
// underneath) configured for cfg.
func NewCreator(cfg githubapp.Config, m *metrics.Metrics) (githubapp.ClientCreator, error) {
	return githubapp.NewDefaultCachingClientCreator(cfg,
		githubapp.WithClientUserAgent("slipway/"+version.Version),
		githubapp.WithClientTimeout(DefaultTimeout),
		githubapp.WithClientMiddleware(
			githubapp.ClientLogging(zerolog.DebugLevel),
			observe(m),
		),
	)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// observe counts calls and makes rate limits visible in the logs and
// metrics as they happen; go-github turns the same answers into
// *github.RateLimitError and *github.AbuseRateLimitError for the caller.
func observe(m *metrics.Metrics) githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			res, err := next.RoundTrip(r)
			if err != nil {
				m.GitHubRequests.WithLabelValues("error").Inc()
				return res, err
			}
			m.GitHubRequests.WithLabelValues(strconv.Itoa(res.StatusCode/100) + "xx").Inc()
			if kind, wait := RateLimit(res); kind != "" {
				m.GitHubRateLimited.WithLabelValues(kind).Inc()
				zerolog.Ctx(r.Context()).Warn().
					Str("kind", kind).
					Dur("retry_after", wait).
					Str("method", r.Method).
					Str("path", r.URL.Path).
					Msg("GitHub rate limit reached")
			}
			return res, nil
		})
	}
}

// RateLimit tells whether res is a rate-limit answer ("primary" when the
// hourly quota is spent, "secondary" for GitHub's abuse limits) and how
// long GitHub asks to wait.
func RateLimit(res *http.Response) (kind string, wait time.Duration) {
	if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusTooManyRequests {
		return "", 0
	}
	if s := res.Header.Get("Retry-After"); s != "" {
		secs, _ := strconv.Atoi(s)
		return "secondary", time.Duration(secs) * time.Second
	}
	if res.Header.Get("X-RateLimit-Remaining") == "0" {
		reset, _ := strconv.ParseInt(res.Header.Get("X-RateLimit-Reset"), 10, 64)
		return "primary", max(0, time.Until(time.Unix(reset, 0)))
	}
	return "", 0
}
