package world

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh/transport"
)

// A world is an installation on acme with acme/shop, a pull request on
// it, and a port and a server config that reach them as the App.
func TestWorld(t *testing.T) {
	w := New(t, Options{Permissions: map[string]string{"bob": "write"}})
	n := w.OpenPR(t, "change", "alice", map[string]string{"a.txt": "a\n"})
	pr, err := w.Port(t, transport.Options{}).PullRequest(t.Context(), w.GHRepo(), n)
	if err != nil {
		t.Fatal(err)
	}
	if pr.HeadSHA != w.Head(n) || pr.Author != "alice" {
		t.Errorf("pull request %+v, want alice's at %s", pr, w.Head(n))
	}
	if perm, err := w.Port(t, transport.Options{}).Permission(t.Context(), w.GHRepo(), "bob"); err != nil || perm != "write" {
		t.Errorf("bob's permission %q (%v), want write", perm, err)
	}
	cfg := w.ServerConfig()
	if cfg.GitHub.App.IntegrationID != w.Sim.AppID() || !strings.HasPrefix(cfg.GitHub.V3APIURL, w.Sim.URL()) || cfg.GitHub.App.WebhookSecret != DefaultSecret {
		t.Errorf("server config: App %d at %s with secret set %v, want the simulator's", cfg.GitHub.App.IntegrationID, cfg.GitHub.V3APIURL, cfg.GitHub.App.WebhookSecret != "")
	}
	key := filepath.Join(t.TempDir(), "app.pem")
	env, err := w.ServerEnv(key)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 || !slices.Contains(env, "GITHUB_APP_PRIVATE_KEY_PATH="+key) || !slices.Contains(env, "GITHUB_V3_API_URL="+w.Sim.V3URL()) {
		t.Errorf("ServerEnv: key file %v (%v), environment names %d variables", fi, err, len(env))
	}
	if got := len(w.SlipwayComments(n)); got != 0 {
		t.Errorf("%d comments from slipway on a new pull request", got)
	}
}
