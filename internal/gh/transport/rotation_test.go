package transport_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/testkit/world"
)

// A token that rotates at every call (githubsim's TokenTTL under the
// minute that ghinstallation renews tokens before expiry) still gets 304s:
// the cache asks with the ETag GitHub computes for the new token.
func TestConditionalRequestsSurviveTokenRotation(t *testing.T) {
	w := newSimWorldWith(t, world.Options{Files: map[string]string{"a": "b"}, TokenTTL: 30 * time.Second}, transport.Options{})
	ctx := context.Background()
	if _, _, err := w.client.Repositories.Get(ctx, "acme", "shop"); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetLog()
	_, res, err := w.client.Repositories.Get(ctx, "acme", "shop")
	if err != nil {
		t.Fatal(err)
	}
	var tokens, notModified int
	for _, r := range w.sim.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/access_tokens"):
			tokens++
		case r.Path == "/api/v3/repos/acme/shop" && r.Status == http.StatusNotModified:
			notModified++
		}
	}
	if tokens != 1 || notModified != 1 || res.Header.Get("X-From-Cache") == "" {
		t.Errorf("%d new tokens, %d answers 304, served from cache %q; want a new token and a 304", tokens, notModified, res.Header.Get("X-From-Cache"))
	}
	if got := testutil.ToFloat64(w.m.GitHubCached); got != 1 {
		t.Errorf("cached answers %v, want 1", got)
	}
}
