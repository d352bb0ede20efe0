package world

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/gh/transport"
)

func TestWait(t *testing.T) {
	stop := errors.New("the server exited")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		cond    func(calls int) (bool, error)
		want    error  // errors.Is the result; nil: success
		message string // in the error
		calls   int    // cond was called this often at the most
	}{
		{"holds at once", context.Background(), func(int) (bool, error) { return true, nil }, nil, "", 1},
		{"holds on the third look", context.Background(), func(n int) (bool, error) { return n == 3, nil }, nil, "", 3},
		{"never holds", context.Background(), func(int) (bool, error) { return false, nil }, ErrTimeout, "timed out after 50ms waiting for the thing", 100},
		{"cond gives up", context.Background(), func(n int) (bool, error) { return false, stop }, stop, "the server exited", 1},
		{"context ended", cancelled, func(int) (bool, error) { return false, nil }, context.Canceled, "context canceled while waiting for the thing", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Wait(tt.ctx, 50*time.Millisecond, "the thing", func() (bool, error) {
				calls++
				return tt.cond(calls)
			})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Wait = %v, want %v", err, tt.want)
			}
			if err != nil && err.Error() != tt.message {
				t.Errorf("error %q, want %q", err, tt.message)
			}
			if calls > tt.calls {
				t.Errorf("cond called %d times, want at most %d", calls, tt.calls)
			}
		})
	}
}

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

// Eventually works in a cleanup, where the test's context has ended.
func TestEventuallyInCleanup(t *testing.T) {
	looks := 0
	t.Run("waits in its cleanup", func(t *testing.T) {
		t.Cleanup(func() { Eventually(t, time.Second, "the third look", func() bool { looks++; return looks == 3 }) })
	})
	if looks != 3 {
		t.Errorf("cond looked %d times, want 3", looks)
	}
}
