package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/world"
)

var (
	openLine     = regexp.MustCompile(`Open (http://\S+) in a browser`)
	actionAttr   = regexp.MustCompile(`action="([^"]*)"`)
	manifestAttr = regexp.MustCompile(`name="manifest" value="([^"]*)"`)
)

// `slipway setup` from flags to files, with the browser played by the
// test and GitHub by the simulator.
func TestSetupCommand(t *testing.T) {
	sim, err := githubsim.New(githubsim.Options{Dir: t.TempDir(), WebhookSecret: "cli-secret", AppID: 9, AppSlug: "slipway-cli"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "server.yaml")
	p := startSlipway(t, nil, "setup", "--listen", "127.0.0.1:0", "--github-url", sim.URL(), "--api-url", sim.V3URL(),
		"--org", "acme", "--name", "slipway-acme-prod", "--out", out)

	var page string
	world.Eventually(t, 20*time.Second, "the page's address", func() bool {
		m := openLine.FindStringSubmatch(p.stdout.String())
		if m != nil {
			page = m[1]
		}
		return m != nil
	})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	action, manifest := actionAttr.FindSubmatch(body), manifestAttr.FindSubmatch(body)
	if action == nil || manifest == nil {
		t.Fatalf("no form on the page:\n%s", body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(html.UnescapeString(string(manifest[1]))), &m); err != nil || m["name"] != "slipway-acme-prod" {
		t.Errorf("manifest %v (%v), want --name in it", m, err)
	}
	res, err = noRedirect.PostForm(html.UnescapeString(string(action[1])), url.Values{"manifest": {html.UnescapeString(string(manifest[1]))}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = http.Get(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("callback answered %d", res.StatusCode)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, p.stdout, p.stderr)
	}

	key := filepath.Join(dir, "server.private-key.pem")
	stdout := p.stdout.String()
	for _, want := range []string{"Registered the GitHub App slipway-cli (ID 9)", "Wrote the server config to " + out, "Wrote the private key to " + key,
		"Next: install the App (" + sim.URL() + "/apps/slipway-cli/installations/new)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if all := stdout + p.stderr.String(); strings.Contains(all, "cli-secret") || strings.Contains(all, "PRIVATE KEY") {
		t.Error("setup printed a secret")
	}
	cfg, err := config.Load(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GitHub.App.IntegrationID != 9 || cfg.GitHub.App.WebhookSecret != "cli-secret" || cfg.GitHub.App.PrivateKeyPath != key {
		t.Errorf("github.app %+v", cfg.GitHub.App)
	}

	t.Run("a second run refuses to overwrite", func(t *testing.T) {
		again := startSlipway(t, nil, "setup", "--listen", "127.0.0.1:0", "--github-url", sim.URL(), "--api-url", sim.V3URL(), "--out", out)
		if code := again.wait(t, 30*time.Second); code != exitError || !strings.Contains(again.stderr.String(), "already exists") {
			t.Errorf("exit %d: %s", code, again.stderr)
		}
		if data, _ := os.ReadFile(key); !strings.Contains(string(data), "PRIVATE KEY") {
			t.Error("the key file changed")
		}
	})
}

func TestSetupFlagErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "app.yml")
	if err := os.WriteFile(bad, []byte("name: x\nurl: https://e.test\nhook_attributes: {url: https://h.test}\ndefault_events: [installation]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"inline key and key file", []string{"--inline-key", "--key-out", filepath.Join(dir, "k.pem")}, "--inline-key puts the key in the config"},
		{"manifest with an implicit event", []string{"--manifest", bad}, bad + ":4: default_events[0]: GitHub sends installation events to every App"},
		{"missing manifest", []string{"--manifest", filepath.Join(dir, "none.yml")}, "--manifest: open"},
		{"no directory for the config", []string{"--out", filepath.Join(dir, "nope", "c.yaml")}, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := startSlipway(t, nil, append([]string{"setup", "--listen", "127.0.0.1:0", "--out", filepath.Join(dir, "c.yaml")}, tc.args...)...)
			if code := p.wait(t, 30*time.Second); code != exitError || !strings.Contains(p.stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q, want %q", code, p.stderr, tc.want)
			}
		})
	}
}
