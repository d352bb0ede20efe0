package githubsim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestManifestFlow(t *testing.T) {
	t.Parallel()
	key, err := testKey()
	must(t, err)
	sim, err := New(Options{Dir: t.TempDir(), PrivateKey: key, WebhookSecret: testSecret, AppID: 42, AppSlug: "slipway-acme"})
	must(t, err)
	t.Cleanup(sim.Close)
	ctx := context.Background()
	client := github.NewClient(nil)
	client.BaseURL, _ = url.Parse(sim.V3URL())
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	register := func(t *testing.T, path, manifest string) *http.Response {
		t.Helper()
		res, err := noRedirect.PostForm(sim.URL()+path, url.Values{"manifest": {manifest}})
		must(t, err)
		res.Body.Close()
		return res
	}
	const manifest = `{"name":"slipway-acme","url":"https://example.com","description":"d",
		"hook_attributes":{"url":"https://hooks.example.com/api/github/hook"},
		"redirect_url":"http://127.0.0.1:3000/callback?keep=1","default_permissions":{"checks":"write"}}`

	t.Run("the registration page redirects with a code that converts once", func(t *testing.T) {
		res := register(t, "/organizations/acme/settings/apps/new?state=st4te", manifest)
		if res.StatusCode != http.StatusFound {
			t.Fatalf("registration answered %d", res.StatusCode)
		}
		loc, err := url.Parse(res.Header.Get("Location"))
		must(t, err)
		q := loc.Query()
		if loc.Host != "127.0.0.1:3000" || loc.Path != "/callback" || q.Get("state") != "st4te" || q.Get("keep") != "1" || q.Get("code") == "" {
			t.Fatalf("redirected to %s", loc)
		}
		ms := sim.Manifests()
		if len(ms) != 1 || ms[0].Org != "acme" || ms[0].State != "st4te" || !strings.Contains(string(ms[0].JSON), `"checks":"write"`) {
			t.Errorf("recorded manifests %+v", ms)
		}

		cfg, res2, err := client.Apps.CompleteAppManifest(ctx, q.Get("code"))
		must(t, err)
		if res2.StatusCode != http.StatusCreated {
			t.Errorf("conversion answered %d, want 201", res2.StatusCode)
		}
		if cfg.GetID() != 42 || cfg.GetSlug() != "slipway-acme" || cfg.GetName() != "slipway-acme" ||
			cfg.GetOwner().GetLogin() != "acme" || cfg.GetExternalURL() != "https://example.com" ||
			cfg.GetWebhookSecret() != testSecret || cfg.GetPEM() != string(sim.PrivateKeyPEM()) ||
			cfg.GetClientID() == "" || cfg.GetClientSecret() == "" || cfg.GetHTMLURL() != sim.URL()+"/apps/slipway-acme" {
			t.Errorf("conversion %+v", cfg)
		}

		_, res3, err := client.Apps.CompleteAppManifest(ctx, q.Get("code"))
		if err == nil || res3.StatusCode != http.StatusNotFound {
			t.Errorf("a used code converted again: %v", err)
		}
	})

	t.Run("a registered code converts", func(t *testing.T) {
		cfg, _, err := client.Apps.CompleteAppManifest(ctx, sim.ManifestCode())
		must(t, err)
		if cfg.GetID() != 42 || cfg.GetOwner().GetLogin() != manifestOwner {
			t.Errorf("conversion %+v", cfg)
		}
	})

	t.Run("an unknown code is not found", func(t *testing.T) {
		_, res, err := client.Apps.CompleteAppManifest(ctx, "nope")
		if err == nil || res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown code: %v", err)
		}
	})

	tests := []struct{ name, manifest, want string }{
		{"not JSON", "name: x", "not a JSON object"},
		{"no homepage", `{"hook_attributes":{"url":"https://h"},"redirect_url":"http://r"}`, "url (the App's homepage)"},
		{"no webhook URL", `{"url":"https://e","redirect_url":"http://r"}`, "hook_attributes.url"},
		{"bad permission level", `{"url":"https://e","hook_attributes":{"url":"https://h"},"redirect_url":"http://r","default_permissions":{"checks":"rw"}}`, "default_permissions.checks"},
	}
	for _, tc := range tests {
		t.Run("refuses a manifest with "+tc.name, func(t *testing.T) {
			res, err := noRedirect.PostForm(sim.URL()+"/settings/apps/new", url.Values{"manifest": {tc.manifest}})
			must(t, err)
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			must(t, err)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), tc.want) {
				t.Errorf("answered %d %q, want 422 mentioning %q", res.StatusCode, body, tc.want)
			}
		})
	}
}
