package ghclient

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipwayhq/slipway/internal/githubsim"
	"github.com/slipwayhq/slipway/internal/metrics"
)

func TestRateLimitsAreSurfaced(t *testing.T) {
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: "s", Dir: t.TempDir(), CacheControl: "no-cache"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	inst, err := sim.CreateInstallation("acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateRepo(inst, "acme/shop", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	var cfg githubapp.Config
	cfg.V3APIURL, cfg.V4APIURL = sim.V3URL(), sim.V4URL()
	cfg.App.IntegrationID = sim.AppID()
	cfg.App.PrivateKey = string(sim.PrivateKeyPEM())
	creator, err := NewCreator(cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	client, err := creator.NewInstallationClient(inst)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		fault githubsim.Fault
		kind  string
		check func(error) bool
		lifts time.Duration
	}{
		// go-github remembers a rate limit and refuses calls until it
		// lifts, so the limits come last and lift quickly.
		{"server error is not a rate limit", githubsim.ServerError("GET", `/repos/acme/shop$`, 502), "", func(err error) bool {
			var e *github.ErrorResponse
			return errors.As(err, &e) && e.Response.StatusCode == 502
		}, 0},
		{"primary", githubsim.PrimaryRateLimit("GET", `/repos/acme/shop$`, time.Now().Add(2*time.Second)), "primary", func(err error) bool {
			var e *github.RateLimitError
			return errors.As(err, &e)
		}, 2 * time.Second},
		{"secondary", githubsim.SecondaryRateLimit("GET", `/repos/acme/shop$`, time.Second), "secondary", func(err error) bool {
			var e *github.AbuseRateLimitError
			return errors.As(err, &e) && e.GetRetryAfter() == time.Second
		}, 1100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]float64{
				"primary":   testutil.ToFloat64(m.GitHubRateLimited.WithLabelValues("primary")),
				"secondary": testutil.ToFloat64(m.GitHubRateLimited.WithLabelValues("secondary")),
			}
			if err := sim.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			_, _, err := client.Repositories.Get(context.Background(), "acme", "shop")
			if !tt.check(err) {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
			for kind, was := range before {
				want := was
				if kind == tt.kind {
					want++
				}
				if got := testutil.ToFloat64(m.GitHubRateLimited.WithLabelValues(kind)); got != want {
					t.Errorf("rate_limited{%s} = %v, want %v", kind, got, want)
				}
			}
			time.Sleep(tt.lifts)
		})
	}
	// The fault is spent; the next call succeeds and is counted as 2xx.
	if _, _, err := client.Repositories.Get(context.Background(), "acme", "shop"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.GitHubRequests.WithLabelValues("2xx")); got < 1 {
		t.Errorf("2xx requests counted %v", got)
	}
}
