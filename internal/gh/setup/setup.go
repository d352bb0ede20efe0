// Package setup registers slipway's GitHub App through GitHub's manifest
// flow and writes the server config the new App needs.
//
// The flow (https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest):
// a local page posts the manifest to GitHub's registration page; the person
// confirms on GitHub, which redirects the browser back to /callback with a
// one-time code; setup exchanges the code for the App's ID, webhook secret
// and private key (Apps.CompleteAppManifest) and writes them as a server
// config. Secrets go only to files (mode 0600), never to a page or a log.
package setup

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/server"
)

// Routes and limits of the local page.
const (
	CallbackPath      = "/callback"
	conversionTimeout = 30 * time.Second
	shutdownTimeout   = 5 * time.Second
)

// Options says which App to register where, and where its config goes.
type Options struct {
	Manifest  *Manifest
	WebURL    string // GitHub's web root: https://github.com or https://HOST
	V3APIURL  string // the REST API: https://api.github.com/ or https://HOST/api/v3/
	Org       string // register the App on this organization ("" : the signed-in user)
	Name      string // overrides the manifest's name (App names are unique across GitHub)
	PublicURL string // slipway's public URL: the webhook URL and server.public_url ("" keeps the manifest's)
	Out       string // the server config to write
	KeyOut    string // the private key file; "" puts the key inline in Out
	Force     bool   // replace Out and KeyOut if they exist
	Client    *http.Client
	Log       zerolog.Logger
}

// Result is what Run wrote, without secrets.
type Result struct {
	AppID   int64
	Slug    string
	HTMLURL string
	Config  string // path of the server config
	Key     string // path of the private key; "" when inline
}

// InstallURL is where the App is installed on repositories.
func (r *Result) InstallURL() string {
	return strings.TrimSuffix(r.HTMLURL, "/") + "/installations/new"
}

// PageURL is the address to open in a browser for a listener at addr.
func PageURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// Run serves the registration page on ln until one App was registered and
// its config written, or ctx ends. A failed exchange (an unknown or
// expired code) is shown on the page and the flow can be started again.
func Run(ctx context.Context, ln net.Listener, opts Options) (*Result, error) {
	f, err := newFlow(ln, opts)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: f.routes(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx) // lets the callback finish its page
	}
	select {
	case <-ctx.Done():
		shutdown()
		return nil, fmt.Errorf("setup stopped before an App was registered: %w", ctx.Err())
	case err := <-errc:
		return nil, fmt.Errorf("serve the setup page: %w", err)
	case out := <-f.done:
		shutdown()
		return out.res, out.err
	}
}

// flow is one run of the manifest flow.
type flow struct {
	opts     Options
	page     string // this server's root URL
	action   string // GitHub's registration page, with the state
	manifest []byte // JSON
	state    string // ties the callback to this run (CSRF)
	done     chan outcome

	mu       sync.Mutex
	finished bool
}

type outcome struct {
	res *Result
	err error
}

func newFlow(ln net.Listener, opts Options) (*flow, error) {
	if opts.Manifest == nil {
		return nil, errors.New("no App manifest")
	}
	if !absoluteURL(opts.WebURL) {
		return nil, fmt.Errorf("--github-url must be a full URL like https://github.com, got %q", opts.WebURL)
	}
	if !absoluteURL(opts.V3APIURL) {
		return nil, fmt.Errorf("--api-url must be a full URL like https://api.github.com/, got %q", opts.V3APIURL)
	}
	if opts.PublicURL != "" && !absoluteURL(opts.PublicURL) {
		return nil, fmt.Errorf("--public-url must be a full URL like https://slipway.example.com, got %q", opts.PublicURL)
	}
	if opts.Out == "" {
		return nil, errors.New("--out is required: where to write the server config")
	}
	if err := checkWritable("--out", opts.Out, opts.Force); err != nil {
		return nil, err
	}
	if opts.KeyOut != "" {
		// The config names the key file; absolute, it works from anywhere.
		abs, err := filepath.Abs(opts.KeyOut)
		if err != nil {
			return nil, fmt.Errorf("--key-out: %w", err)
		}
		opts.KeyOut = abs
		if err := checkWritable("--key-out", opts.KeyOut, opts.Force); err != nil {
			return nil, err
		}
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: conversionTimeout}
	}
	opts.V3APIURL = strings.TrimSuffix(opts.V3APIURL, "/") + "/"

	page := PageURL(ln.Addr())
	m := *opts.Manifest
	m.RedirectURL = strings.TrimSuffix(page, "/") + CallbackPath
	if opts.Name != "" {
		m.Name = opts.Name
	}
	if opts.PublicURL != "" {
		m.HookAttributes.URL = strings.TrimSuffix(opts.PublicURL, "/") + server.WebhookPath
	}
	manifest, err := m.JSON()
	if err != nil {
		return nil, err
	}
	state, err := randomState()
	if err != nil {
		return nil, err
	}
	register := strings.TrimSuffix(opts.WebURL, "/") + "/settings/apps/new"
	if opts.Org != "" {
		register = strings.TrimSuffix(opts.WebURL, "/") + "/organizations/" + url.PathEscape(opts.Org) + "/settings/apps/new"
	}
	return &flow{
		opts:     opts,
		page:     page,
		action:   register + "?" + url.Values{"state": {state}}.Encode(),
		manifest: manifest,
		state:    state,
		done:     make(chan outcome, 1),
	}, nil
}

func randomState() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random state: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (f *flow) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", f.start)
	mux.HandleFunc("GET "+CallbackPath, f.callback)
	return mux
}

// start is the page that posts the manifest to GitHub.
func (f *flow) start(w http.ResponseWriter, _ *http.Request) {
	target := "your account"
	if f.opts.Org != "" {
		target = "the organization " + f.opts.Org
	}
	render(w, http.StatusOK, startPage, map[string]string{
		"Action":   f.action,
		"Manifest": string(f.manifest),
		"Target":   target,
		"GitHub":   f.opts.WebURL,
	})
}

// callback receives GitHub's redirect, exchanges the code and writes the
// config.
func (f *flow) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	log := f.opts.Log
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		render(w, http.StatusConflict, messagePage, message{Title: "Already done",
			Text: "This setup has already registered an App and written its config. Run slipway setup again for another."})
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		log.Warn().Msg("callback with a state this setup did not issue: ignored")
		render(w, http.StatusBadRequest, messagePage, message{Title: "This callback is not from this setup",
			Text: "Its state does not match the registration this slipway setup started, so it was ignored.", Retry: f.page})
		return
	}
	code := q.Get("code")
	if code == "" {
		render(w, http.StatusBadRequest, messagePage, message{Title: "No code",
			Text: "GitHub's redirect carries a code parameter; this request has none.", Retry: f.page})
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), conversionTimeout)
	defer cancel()
	gh := github.NewClient(f.opts.Client)
	gh.BaseURL, _ = url.Parse(f.opts.V3APIURL) // checked in newFlow
	app, res, err := gh.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		text := fmt.Sprintf("Exchanging the code with %s failed: %v", f.opts.V3APIURL, err)
		if res != nil && res.StatusCode == http.StatusNotFound {
			text = "GitHub does not know this code. Codes work once and expire after an hour: register the App again."
		}
		log.Error().Err(err).Msg("exchanging the manifest code failed; nothing was written")
		render(w, http.StatusBadGateway, messagePage, message{Title: "The App's credentials could not be fetched",
			Text: text + " Nothing was written.", Retry: f.page})
		return
	}
	log.Info().Int64("app_id", app.GetID()).Str("slug", app.GetSlug()).Msg("GitHub App registered")

	out := outcome{}
	out.res, out.err = f.write(app)
	f.finished = true
	if out.err != nil {
		log.Error().Err(out.err).Msg("writing the config failed")
		render(w, http.StatusInternalServerError, messagePage, message{Title: "The App was registered, but writing its config failed",
			Text: fmt.Sprintf("%v. Open %s, generate a new private key and set a new webhook secret in the App's settings, and write the config by hand.", out.err, app.GetHTMLURL())})
	} else {
		render(w, http.StatusOK, donePage, out.res)
	}
	f.done <- out
}

// write writes the key (unless inline) and the config, then loads the
// config as `slipway serve` would.
func (f *flow) write(app *github.AppConfig) (*Result, error) {
	res := &Result{AppID: app.GetID(), Slug: app.GetSlug(), HTMLURL: app.GetHTMLURL(), Config: f.opts.Out}
	if f.opts.KeyOut != "" {
		if err := writeSecret(f.opts.KeyOut, []byte(app.GetPEM()), f.opts.Force); err != nil {
			return nil, fmt.Errorf("write the private key: %w", err)
		}
		res.Key = f.opts.KeyOut
	}
	data, err := serverConfig(&f.opts, app, res.Key, time.Now())
	if err != nil {
		return nil, err
	}
	if err := writeSecret(f.opts.Out, data, f.opts.Force); err != nil {
		return nil, fmt.Errorf("write the server config: %w", err)
	}
	// The environment is left out on purpose: this checks the file itself.
	if _, err := config.Load(f.opts.Out, nil); err != nil {
		return res, fmt.Errorf("the written config does not load: %w", err)
	}
	return res, nil
}
