package transport

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/backoff"
)

// gate is one installation's (or the App's) door to GitHub: at most a
// fixed number of calls pass at once, and after a rate limit none pass
// until GitHub said it lifts. GitHub counts both limits per installation,
// so every client of an installation shares one gate.
type gate struct {
	slots   chan struct{}
	maxWait time.Duration

	mu     sync.Mutex
	kind   string    // the limit that closed the gate
	closed time.Time // no calls before this
}

func newGate(concurrent int, maxWait time.Duration) *gate {
	return &gate{slots: make(chan struct{}, max(1, concurrent)), maxWait: maxWait}
}

// closeUntil keeps calls back until t, after GitHub answered a rate limit
// of kind; a later time wins over an earlier one.
func (g *gate) closeUntil(kind string, t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.closed) {
		g.kind, g.closed = kind, t
	}
}

func (g *gate) closedUntil() (string, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.kind, g.closed
}

// enter waits until the gate is open and a slot is free. A gate closed for
// longer than maxWait fails at once, as GitHub would, without a call.
func (g *gate) enter(ctx context.Context) error {
	if kind, until := g.closedUntil(); time.Until(until) > 0 {
		wait := time.Until(until)
		if wait > g.maxWait {
			return &LimitError{Kind: kind, Resets: until, MaxWait: g.maxWait}
		}
		zerolog.Ctx(ctx).Debug().Str("kind", kind).Dur("wait", wait).Msg("GitHub rate limit: waiting before the call")
		if err := backoff.Sleep(ctx, backoff.Jitter(wait)); err != nil {
			return err
		}
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (g *gate) leave() { <-g.slots }

// middleware holds a slot for one attempt, until GitHub's answer arrives.
func (g *gate) middleware() githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if err := g.enter(r.Context()); err != nil {
				return nil, err
			}
			defer g.leave()
			return next.RoundTrip(r)
		})
	}
}

// gates hands out one gate per installation; the App's own calls share the
// gate of installation 0.
type gates struct {
	concurrent int
	maxWait    time.Duration

	mu sync.Mutex
	by map[int64]*gate
}

func (gs *gates) get(installation int64) *gate {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if gs.by == nil {
		gs.by = map[int64]*gate{}
	}
	g, ok := gs.by[installation]
	if !ok {
		g = newGate(gs.concurrent, gs.maxWait)
		gs.by[installation] = g
	}
	return g
}
