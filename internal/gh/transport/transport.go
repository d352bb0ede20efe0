// Package transport builds the GitHub API clients slipway uses: one per
// installation, cached, revalidating answers with conditional requests,
// keeping to a number of concurrent calls per installation, and sitting
// out rate limits and transient failures where that is safe.
package transport

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
	"github.com/shurcooL/githubv4"
	"golang.org/x/oauth2"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/version"
)

// Defaults for Options left zero.
const (
	DefaultMaxRetryWait          = 2 * time.Minute
	DefaultMaxConcurrentRequests = 8
	DefaultAttempts              = 4
	// DefaultAttemptTimeout bounds one attempt of a call, its answer's body
	// included; waits between attempts are bounded separately.
	DefaultAttemptTimeout = 30 * time.Second
)

// DefaultBackoff spaces the attempts of a call that failed with a 5xx or
// got no answer: about 0.5s, 1s, 2s.
var DefaultBackoff = backoff.Policy{Base: 500 * time.Millisecond, Max: 8 * time.Second}

// Options are the limits slipway keeps to in its calls to GitHub.
type Options struct {
	// MaxRetryWait is the longest one call waits, in all, for rate limits
	// to lift (github.max_retry_wait).
	MaxRetryWait time.Duration
	// MaxConcurrentRequests is how many calls of one installation may be
	// in flight at once; the App's own calls share one such limit
	// (github.max_concurrent_requests).
	MaxConcurrentRequests int
	// Attempts is how often a call that failed with a 5xx or got no answer
	// is tried in all, when trying again is safe.
	Attempts       int
	Backoff        backoff.Policy
	AttemptTimeout time.Duration
	// CacheBytes bounds the memory of cached answers, for all clients.
	CacheBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = DefaultMaxRetryWait
	}
	if o.MaxConcurrentRequests <= 0 {
		o.MaxConcurrentRequests = DefaultMaxConcurrentRequests
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff == (backoff.Policy{}) {
		o.Backoff = DefaultBackoff
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	return o
}

// NewCreator returns go-githubapp's caching client creator (ghinstallation
// underneath) configured for cfg, with the limits of opts.
func NewCreator(cfg githubapp.Config, opts Options, m *metrics.Metrics) (githubapp.ClientCreator, error) {
	opts = opts.withDefaults()
	c := &creator{
		cfg:   cfg,
		opts:  opts,
		m:     m,
		gates: &gates{concurrent: opts.MaxConcurrentRequests, maxWait: opts.MaxRetryWait},
		cache: newResponseCache(opts.CacheBytes),
	}
	return githubapp.NewCachingClientCreator(c, githubapp.DefaultCachingClientCapacity)
}

// creator builds each installation's clients with a go-githubapp creator
// of its own, so that the installation's gate sits in the middleware: the
// installation ID that go-githubapp puts in the request context is not
// readable outside its package.
type creator struct {
	cfg   githubapp.Config
	opts  Options
	m     *metrics.Metrics
	gates *gates
	cache *responseCache
}

const appGate = 0

func (c *creator) forInstallation(id int64) githubapp.ClientCreator {
	g := c.gates.get(id)
	return githubapp.NewClientCreator(c.cfg.V3APIURL, c.cfg.V4APIURL, c.cfg.App.IntegrationID, []byte(c.cfg.App.PrivateKey),
		githubapp.WithClientUserAgent("slipway/"+version.Version),
		// Innermost, below the token: every read is revalidated (GitHub's
		// max-age=60 would otherwise serve a pull request's head or
		// comments a minute stale), and a token's rotation keeps the hits.
		githubapp.WithTransport(conditional{next: http.DefaultTransport, cache: c.cache, scope: "installation " + strconv.FormatInt(id, 10)}),
		githubapp.WithClientMiddleware(
			retrying(c.opts, g, c.m),
			g.middleware(),
			githubapp.ClientLogging(zerolog.DebugLevel),
			observe(c.m),
		),
	)
}

func (c *creator) NewAppClient() (*github.Client, error) {
	return c.forInstallation(appGate).NewAppClient()
}

func (c *creator) NewAppV4Client() (*githubv4.Client, error) {
	return c.forInstallation(appGate).NewAppV4Client()
}

func (c *creator) NewInstallationClient(id int64) (*github.Client, error) {
	return c.forInstallation(id).NewInstallationClient(id)
}

func (c *creator) NewInstallationV4Client(id int64) (*githubv4.Client, error) {
	return c.forInstallation(id).NewInstallationV4Client(id)
}

func (c *creator) NewTokenSourceClient(ts oauth2.TokenSource) (*github.Client, error) {
	return c.forInstallation(appGate).NewTokenSourceClient(ts)
}

func (c *creator) NewTokenSourceV4Client(ts oauth2.TokenSource) (*githubv4.Client, error) {
	return c.forInstallation(appGate).NewTokenSourceV4Client(ts)
}

func (c *creator) NewTokenClient(token string) (*github.Client, error) {
	return c.forInstallation(appGate).NewTokenClient(token)
}

func (c *creator) NewTokenV4Client(token string) (*githubv4.Client, error) {
	return c.forInstallation(appGate).NewTokenV4Client(token)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// observe counts each attempt and makes rate limits visible in the logs
// and metrics as they happen.
func observe(m *metrics.Metrics) githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			res, err := next.RoundTrip(r)
			if err != nil {
				m.GitHubRequests.WithLabelValues("error").Inc()
				return res, err
			}
			m.GitHubRequests.WithLabelValues(strconv.Itoa(res.StatusCode/100) + "xx").Inc()
			if res.Header.Get("X-From-Cache") != "" {
				m.GitHubCached.Inc()
			}
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
