package setup

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/server"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

const webhookSecret = "whsec-from-github"

func newSim(t *testing.T) *githubsim.Sim {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{Dir: t.TempDir(), AppID: 77, AppSlug: "slipway-acme", WebhookSecret: webhookSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}

func appManifest(t *testing.T) *Manifest {
	t.Helper()
	m, err := ParseManifest("app.yml", slipway.AppManifest)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// running is a setup serving its page, as `slipway setup` runs it.
type running struct {
	page   string
	done   chan struct{}
	res    *Result
	err    error
	cancel context.CancelFunc
}

func start(t *testing.T, opts Options) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	r := &running{page: PageURL(ln.Addr()), done: make(chan struct{}), cancel: cancel}
	opts.Log = zerolog.New(io.Discard)
	go func() {
		defer close(r.done)
		r.res, r.err = Run(ctx, ln, opts)
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func (r *running) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("setup still running after the callback")
	}
}

// get fetches url without following redirects.
func get(t *testing.T, u string) (int, string, http.Header) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body), res.Header
}

var (
	formAction    = regexp.MustCompile(`<form id="register" method="post" action="([^"]*)">`)
	formManifest  = regexp.MustCompile(`<input type="hidden" name="manifest" value="([^"]*)">`)
	autoSubmitted = `document.getElementById("register").submit()`
)

// form reads the page's form as a browser would.
func form(t *testing.T, page string) (action string, manifest map[string]any) {
	t.Helper()
	status, body, _ := get(t, page)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", page, status, body)
	}
	a, m := formAction.FindStringSubmatch(body), formManifest.FindStringSubmatch(body)
	if a == nil || m == nil || !strings.Contains(body, autoSubmitted) {
		t.Fatalf("the page has no auto-submitted manifest form:\n%s", body)
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &manifest); err != nil {
		t.Fatalf("manifest field: %v", err)
	}
	return html.UnescapeString(a[1]), manifest
}

// submit posts the manifest to the registration page (the simulator's) and
// returns where GitHub sends the browser back.
func submit(t *testing.T, action string, manifest map[string]any) string {
	t.Helper()
	data, _ := json.Marshal(manifest)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(action, url.Values{"manifest": {string(data)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("registration answered %d", res.StatusCode)
	}
	return res.Header.Get("Location")
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestSetupAgainstGitHubSimulator(t *testing.T) {
	sim := newSim(t)
	dir := t.TempDir()
	out, key := filepath.Join(dir, "slipway.yaml"), filepath.Join(dir, "slipway.private-key.pem")
	r := start(t, Options{
		Manifest: appManifest(t), WebURL: sim.URL(), V3APIURL: sim.V3URL(), Org: "acme",
		PublicURL: "https://slipway.acme.test", Out: out, KeyOut: key,
	})

	action, manifest := form(t, r.page)
	t.Run("the page posts the manifest to the organization's registration page", func(t *testing.T) {
		u, err := url.Parse(action)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Scheme + "://" + u.Host + u.Path; got != sim.URL()+"/organizations/acme/settings/apps/new" || u.Query().Get("state") == "" {
			t.Errorf("form action %s", action)
		}
		if manifest["redirect_url"] != r.page+"callback" {
			t.Errorf("redirect_url %v, want this page's %scallback", manifest["redirect_url"], r.page)
		}
		if hook, _ := manifest["hook_attributes"].(map[string]any); hook["url"] != "https://slipway.acme.test"+server.WebhookPath {
			t.Errorf("webhook URL %v", hook["url"])
		}
		if perms, _ := manifest["default_permissions"].(map[string]any); perms["checks"] != "write" || manifest["public"] != false {
			t.Errorf("manifest %v is not app.yml's", manifest)
		}
	})

	state := func() string { u, _ := url.Parse(action); return u.Query().Get("state") }()
	t.Run("an unknown code is a clear error and writes nothing", func(t *testing.T) {
		status, body, _ := get(t, r.page+"callback?"+url.Values{"code": {"bogus"}, "state": {state}}.Encode())
		if status != http.StatusBadGateway || !strings.Contains(body, "GitHub does not know this code") || !strings.Contains(body, "Nothing was written") {
			t.Errorf("answered %d:\n%s", status, body)
		}
		assertNotExist(t, out, key)
	})

	t.Run("a callback with another state is ignored", func(t *testing.T) {
		status, body, _ := get(t, r.page+"callback?"+url.Values{"code": {sim.ManifestCode()}, "state": {"forged"}}.Encode())
		if status != http.StatusBadRequest || !strings.Contains(body, "not from this setup") {
			t.Errorf("answered %d:\n%s", status, body)
		}
		assertNotExist(t, out, key)
	})

	callback := submit(t, action, manifest)
	if !strings.HasPrefix(callback, r.page+"callback?") {
		t.Fatalf("GitHub sent the browser to %s", callback)
	}
	status, body, _ := get(t, callback)
	if status != http.StatusOK || !strings.Contains(body, "slipway-acme is registered") || !strings.Contains(body, sim.URL()+"/apps/slipway-acme/installations/new") {
		t.Fatalf("callback answered %d:\n%s", status, body)
	}
	if strings.Contains(body, webhookSecret) || strings.Contains(body, "PRIVATE KEY") {
		t.Error("the page shows a secret")
	}
	r.wait(t)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.res.AppID != 77 || r.res.Slug != "slipway-acme" || r.res.Config != out || r.res.Key != key {
		t.Errorf("result %+v", r.res)
	}

	cfg, err := config.Load(out, nil)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	t.Run("the config holds the App the simulator created", func(t *testing.T) {
		app := cfg.GitHub.App
		if app.IntegrationID != sim.AppID() || app.WebhookSecret != sim.WebhookSecret() || app.PrivateKeyPath != key || app.PrivateKey != "" {
			t.Errorf("github.app %+v", app)
		}
		if cfg.GitHub.WebURL != sim.URL() || cfg.GitHub.V3APIURL != sim.V3URL() || cfg.GitHub.V4APIURL != sim.V4URL() {
			t.Errorf("github URLs %+v", cfg.GitHub)
		}
		if cfg.Server.PublicURL != "https://slipway.acme.test" {
			t.Errorf("server.public_url %q", cfg.Server.PublicURL)
		}
		pem, err := os.ReadFile(key)
		if err != nil || string(pem) != string(sim.PrivateKeyPEM()) {
			t.Errorf("the key file does not hold the App's key (%v)", err)
		}
		for _, p := range []string{out, key} {
			if m := mode(t, p); m != 0o600 {
				t.Errorf("%s has mode %o, want 600", p, m)
			}
		}
	})

	t.Run("slipway's server accepts it", func(t *testing.T) {
		cfg.Store.Path = filepath.Join(t.TempDir(), "slipway.db")
		if _, err := server.New(cfg, zerolog.New(io.Discard)); err != nil {
			t.Fatal(err)
		}
	})

	if ms := sim.Manifests(); len(ms) != 1 || ms[0].Org != "acme" {
		t.Errorf("the simulator received %d manifests: %+v", len(ms), ms)
	}
}

func assertNotExist(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was written (%v)", p, err)
		}
	}
}

func TestSetupInlineKeyOnPersonalAccount(t *testing.T) {
	sim := newSim(t)
	out := filepath.Join(t.TempDir(), "config.yaml")
	r := start(t, Options{Manifest: appManifest(t), WebURL: sim.URL() + "/", V3APIURL: sim.V3URL(), Out: out})
	action, manifest := form(t, r.page)
	if u, _ := url.Parse(action); u.Path != "/settings/apps/new" {
		t.Errorf("form action %s, want the personal registration page", action)
	}
	if status, body, _ := get(t, submit(t, action, manifest)); status != http.StatusOK {
		t.Fatalf("callback answered %d:\n%s", status, body)
	}
	r.wait(t)
	if r.err != nil {
		t.Fatal(r.err)
	}
	cfg, err := config.Load(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GitHub.App.PrivateKey != string(sim.PrivateKeyPEM()) || cfg.GitHub.App.PrivateKeyPath != "" || r.res.Key != "" {
		t.Error("the key is not inline in the config")
	}
	if cfg.Server.PublicURL != "" {
		t.Errorf("server.public_url %q without --public-url", cfg.Server.PublicURL)
	}
	if res, err := http.Get(r.page); err == nil {
		res.Body.Close()
		t.Error("the page still answers after setup finished")
	}
}

func TestSetupRefusesToOverwrite(t *testing.T) {
	sim := newSim(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "slipway.yaml")
	if err := os.WriteFile(out, []byte("precious: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Manifest: appManifest(t), WebURL: sim.URL(), V3APIURL: sim.V3URL(), Out: out, KeyOut: filepath.Join(dir, "k.pem")}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Run(context.Background(), ln, opts); err == nil || !strings.Contains(err.Error(), "--out "+out+" already exists") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Run: %v", err)
	}
	if data, _ := os.ReadFile(out); string(data) != "precious: true\n" {
		t.Error("the existing file changed")
	}

	t.Run("--force replaces it, with mode 0600", func(t *testing.T) {
		opts.Force = true
		r := start(t, opts)
		action, manifest := form(t, r.page)
		if status, body, _ := get(t, submit(t, action, manifest)); status != http.StatusOK {
			t.Fatalf("callback answered %d:\n%s", status, body)
		}
		r.wait(t)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if _, err := config.Load(out, nil); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, out); m != 0o600 {
			t.Errorf("mode %o, want 600", m)
		}
	})
}

func TestSetupStopsWithItsContext(t *testing.T) {
	sim := newSim(t)
	r := start(t, Options{Manifest: appManifest(t), WebURL: sim.URL(), V3APIURL: sim.V3URL(), Out: filepath.Join(t.TempDir(), "c.yaml")})
	form(t, r.page)
	r.cancel()
	r.wait(t)
	if r.err == nil || !strings.Contains(r.err.Error(), "before an App was registered") {
		t.Errorf("Run: %v", r.err)
	}
}
