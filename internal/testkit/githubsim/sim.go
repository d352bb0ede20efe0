// Package githubsim is a stateful, in-process GitHub simulator (REST API,
// App authentication, git-backed repositories and signed webhooks) that
// tests drive instead of the real GitHub.
package githubsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"
)

// Options configures a Sim. Zero values get GitHub-like defaults.
type Options struct {
	AppID         int64           // default 1
	AppSlug       string          // default "slipway"
	PrivateKey    *rsa.PrivateKey // a 2048-bit key is generated when nil
	WebhookURL    string          // empty: deliveries are recorded but not sent
	WebhookSecret string
	Dir           string // where the bare git repositories live; required

	// CacheControl is sent on successful GET responses. GitHub sends
	// "private, max-age=60, s-maxage=60", which makes caching HTTP clients
	// serve stale reads for a minute; that is the default so that such
	// staleness shows up in tests as it would in production. Set "no-cache"
	// to force caching clients to revalidate every time.
	CacheControl string
	// TokenTTL is how long installation access tokens live; GitHub's
	// hour when zero. Clients renew a token a minute before it expires,
	// so a TTL of a minute or less gives every request a fresh token: a
	// token rotation at each call.
	TokenTTL time.Duration

	// RateLimit is each installation's (and the app's) hourly quota in the
	// X-RateLimit headers; 0 means 5000, GitHub's default. GitHub grants
	// 15000 to Apps installed in Enterprise Cloud organisations.
	RateLimit int
}

// Sim is a running simulator. All methods are safe for concurrent use.
type Sim struct {
	opts   Options
	key    *rsa.PrivateKey
	srv    *httptest.Server
	url    string
	hooks  *http.Client // delivers webhooks
	start  time.Time
	log    *recorder      // has its own lock
	async  sync.WaitGroup // webhooks triggered by API calls, delivered in the background
	outbox struct {
		mu      sync.Mutex
		queue   []outgoing
		sending bool
	}

	mu     sync.Mutex // guards hookTo and st
	hookTo string
	st     *state
}

// New starts a simulator listening on 127.0.0.1.
func New(opts Options) (*Sim, error) {
	if opts.Dir == "" {
		return nil, errors.New("githubsim: Options.Dir is required")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("githubsim: %w", err)
	}
	if opts.AppID == 0 {
		opts.AppID = 1
	}
	if opts.AppSlug == "" {
		opts.AppSlug = "slipway"
	}
	if opts.CacheControl == "" {
		opts.CacheControl = "private, max-age=60, s-maxage=60"
	}
	key := opts.PrivateKey
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("githubsim: generating app key: %w", err)
		}
	}
	s := &Sim{
		opts:   opts,
		key:    key,
		hooks:  &http.Client{Timeout: 60 * time.Second},
		start:  time.Now(),
		hookTo: opts.WebhookURL,
		st:     newState(),
		log:    newRecorder(),
	}
	s.srv = httptest.NewServer(s.middleware(s.routes()))
	s.url = s.srv.URL
	return s, nil
}

// Close waits for background webhook deliveries and stops the server.
func (s *Sim) Close() {
	s.async.Wait()
	s.srv.Close()
}

// Flush waits until webhooks triggered by API calls (for example the
// pull_request "closed" event after a merge through the API) were delivered.
// Scripted actions deliver synchronously and need no Flush.
func (s *Sim) Flush() { s.async.Wait() }

// URL is the web root, e.g. http://127.0.0.1:PORT (no trailing slash).
func (s *Sim) URL() string { return s.url }

// V3URL is the REST base URL with a trailing slash, as go-github expects.
func (s *Sim) V3URL() string { return s.url + "/api/v3/" }

// V4URL is the GraphQL endpoint (every query is answered 404).
func (s *Sim) V4URL() string { return s.url + "/api/graphql" }

// AppID is the GitHub App's ID (JWT issuer).
func (s *Sim) AppID() int64 { return s.opts.AppID }

// AppSlug is the GitHub App's slug; its bot user is AppSlug()+"[bot]".
func (s *Sim) AppSlug() string { return s.opts.AppSlug }

// BotLogin is the login of the user that authors installation API writes.
func (s *Sim) BotLogin() string { return s.opts.AppSlug + "[bot]" }

// WebhookSecret is the secret webhooks are signed with.
func (s *Sim) WebhookSecret() string { return s.opts.WebhookSecret }

// PrivateKeyPEM is the app key in PKCS#1 PEM, as GitHub hands it out.
func (s *Sim) PrivateKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.key)})
}

// SetWebhookURL points deliveries at url; the server under test usually
// starts after the simulator because it needs the simulator's URLs.
func (s *Sim) SetWebhookURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookTo = url
}

func (s *Sim) webhookURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hookTo
}
