package gh_test

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/testkit/world"
)

// The App's slug is asked of GitHub once, however many ask for it.
func TestAppSlugAskedOnce(t *testing.T) {
	w := world.New(t, world.Options{})
	slug := gh.NewAppSlug(w.Clients(t, transport.Options{}, metrics.New()))
	w.Sim.ResetLog()
	for range 3 {
		got, err := slug.Get(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got != w.Sim.AppSlug() {
			t.Fatalf("slug %q, want %q", got, w.Sim.AppSlug())
		}
	}
	asks := 0
	for _, r := range w.Sim.Requests() {
		if strings.HasSuffix(r.Path, "/app") {
			asks++
		}
	}
	if asks != 1 {
		t.Errorf("GET /app sent %d times, want 1", asks)
	}
}
