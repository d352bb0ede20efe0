package server

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/kube"
)

// probeTimeout bounds one readiness probe; probeBackoff spaces the rounds
// that try the failing ones again.
const probeTimeout = 10 * time.Second

var probeBackoff = backoff.Policy{Base: time.Second, Max: 30 * time.Second}

// probe is something /readyz waits for at start: a cluster or GitHub
// answering with slipway's credentials.
type probe struct {
	name string
	run  func(ctx context.Context) error
}

// probes are one per configured cluster, and GitHub as the App.
func probes(cfg *config.Config, clients githubapp.ClientCreator) []probe {
	var out []probe
	for _, c := range cfg.Clusters {
		name := c.Name
		out = append(out, probe{"cluster " + name, func(ctx context.Context) error { return kube.Reachable(ctx, cfg, name) }})
	}
	return append(out, probe{"github", func(ctx context.Context) error {
		client, err := clients.NewAppClient()
		if err != nil {
			return err
		}
		_, _, err = client.Apps.Get(ctx, "")
		return err
	}})
}

// readiness is what /readyz answers: ready once the server is serving and
// every probe has passed once. A probe that fails is tried again until it
// passes, so a cluster or GitHub that was down at start needs no restart;
// after that, an outage elsewhere does not take the webhook receiver out
// of its Service (work meeting one fails and says so where it is reported).
type readiness struct {
	serving atomic.Bool
	mu      sync.Mutex
	// failing says why each probe failed in the last round; nil until the
	// first round ends.
	failing map[string]string
}

// watch runs the probes until each has passed once, or ctx ends.
func (r *readiness) watch(ctx context.Context, ps []probe, log zerolog.Logger) {
	for attempt := 1; ; attempt++ {
		failing := map[string]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range ps {
			wg.Go(func() {
				pctx, cancel := context.WithTimeout(ctx, probeTimeout)
				defer cancel()
				if err := p.run(pctx); err != nil {
					mu.Lock()
					failing[p.name] = err.Error()
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		r.failing = failing
		r.mu.Unlock()
		ps = slices.DeleteFunc(ps, func(p probe) bool { _, bad := failing[p.name]; return !bad })
		if len(ps) == 0 {
			if attempt > 1 {
				log.Info().Msg("ready: every cluster and GitHub answered")
			}
			return
		}
		for name, why := range failing {
			log.Warn().Str("probe", name).Str("reason", why).Int("attempt", attempt).Msg("not ready: cannot reach it yet; trying again")
		}
		if backoff.Sleep(ctx, probeBackoff.Delay(attempt)) != nil {
			return
		}
	}
}

// why is "" when ready, else what keeps it from being ready.
func (r *readiness) why() string {
	if !r.serving.Load() {
		return "not serving"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing == nil {
		return "checking the clusters and GitHub"
	}
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(r.failing)) {
		lines = append(lines, fmt.Sprintf("%s: %s", name, r.failing[name]))
	}
	return strings.Join(lines, "\n")
}

// serveHTTP answers on the webhook port, which the internet may reach:
// ready or not, without why, since why names the clusters and their
// addresses. serveDetail, on the metrics port, says why.
func (r *readiness) serveHTTP(w http.ResponseWriter, _ *http.Request) {
	if r.why() != "" {
		http.Error(w, "not ready (why: /readyz on server.metrics_address)\n", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (r *readiness) serveDetail(w http.ResponseWriter, _ *http.Request) {
	if why := r.why(); why != "" {
		http.Error(w, "not ready\n"+why+"\n", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
