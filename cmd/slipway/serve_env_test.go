package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testkit/world"
)

// `slipway serve` without --config: every key from the environment, as a
// container configured by variables and Secrets runs it.
func TestServeFromEnvironmentAlone(t *testing.T) {
	const secret = "env-secret"
	w := world.Empty(t, world.Options{Secret: secret, GitHubCaching: true})
	sim := w.Sim
	dir := t.TempDir()
	env, err := w.ServerEnv(filepath.Join(dir, "app.pem"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	env = append(env, "SLIPWAY_SERVER_ADDRESS="+addr, "SLIPWAY_SERVER_METRICS_ADDRESS=127.0.0.1:0", "SLIPWAY_STORE_PATH="+filepath.Join(dir, "slipway.db"))
	p := startSlipway(t, env, "serve")
	base := "http://" + addr
	waitReady(t, base)
	sim.SetWebhookURL(base + "/api/github/hook")
	// The secret from the environment is the one signatures are checked with.
	if d, err := sim.Ping(); err != nil || d.StatusCode != http.StatusOK {
		t.Fatalf("signed ping: %v %v", d.StatusCode, err)
	}
	if strings.Contains(p.stdout.String(), secret) {
		t.Error("the webhook secret reached the logs")
	}

	t.Run("a missing key names its variable", func(t *testing.T) {
		var partial []string
		for _, kv := range env {
			if !strings.HasPrefix(kv, "GITHUB_APP_WEBHOOK_SECRET=") {
				partial = append(partial, kv)
			}
		}
		p := startSlipway(t, partial, "serve")
		if code := p.wait(t, 10*time.Second); code != 1 {
			t.Fatalf("exit code %d, want 1", code)
		}
		for _, want := range []string{"no --config given", "GITHUB_APP_WEBHOOK_SECRET (github.app.webhook_secret): is empty"} {
			if !strings.Contains(p.stderr.String(), want) {
				t.Errorf("stderr %q does not contain %q", p.stderr, want)
			}
		}
	})
}
