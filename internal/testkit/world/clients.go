package world

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/metrics"
)

// ServerConfig is the default server config with its github section
// pointing at the simulator as the App; the caller adds workers, store and
// clusters.
func (w *World) ServerConfig() *config.Config {
	cfg := config.Defaults()
	cfg.GitHub.WebURL, cfg.GitHub.V3APIURL, cfg.GitHub.V4APIURL = w.Sim.URL(), w.Sim.V3URL(), w.Sim.V4URL()
	cfg.GitHub.App.IntegrationID = w.Sim.AppID()
	cfg.GitHub.App.WebhookSecret = w.Sim.WebhookSecret()
	cfg.GitHub.App.PrivateKey = string(w.Sim.PrivateKeyPEM())
	return cfg
}

// Clients makes GitHub clients the way the server does (slipway's
// transport: App JWT, installation tokens, cache, gate, retries), counting
// into m (fresh metrics when nil).
func (w *World) Clients(t testing.TB, opts transport.Options, m *metrics.Metrics) githubapp.ClientCreator {
	t.Helper()
	appCfg, err := transport.AppConfig(w.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	if m == nil {
		m = metrics.New()
	}
	clients, err := transport.NewCreator(appCfg, opts, m)
	if err != nil {
		t.Fatal(err)
	}
	return clients
}

// Client is the installation's client, as Clients makes it; Install must
// have run.
func (w *World) Client(t testing.TB, opts transport.Options, m *metrics.Metrics) *github.Client {
	t.Helper()
	client, err := w.Clients(t, opts, m).NewInstallationClient(w.Installation)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// Port is the port slipway's workflows would use for the installation.
func (w *World) Port(t testing.TB, opts transport.Options) gh.Port {
	t.Helper()
	return gh.New(w.Client(t, opts, nil))
}

// ServerEnv writes the App's private key to keyPath and returns the
// environment that points `slipway serve` at the simulator as the App, for
// runs configured by variables rather than a file (containers, the demo).
func (w *World) ServerEnv(keyPath string) ([]string, error) {
	if err := w.WriteKey(keyPath); err != nil {
		return nil, fmt.Errorf("write the App's key: %w", err)
	}
	return []string{
		"GITHUB_WEB_URL=" + w.Sim.URL(),
		"GITHUB_V3_API_URL=" + w.Sim.V3URL(),
		"GITHUB_V4_API_URL=" + w.Sim.V4URL(),
		"GITHUB_APP_INTEGRATION_ID=" + strconv.FormatInt(w.Sim.AppID(), 10),
		"GITHUB_APP_WEBHOOK_SECRET=" + w.Sim.WebhookSecret(),
		"GITHUB_APP_PRIVATE_KEY_PATH=" + keyPath,
	}, nil
}
