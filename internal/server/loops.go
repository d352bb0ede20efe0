package server

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/recovery"
)

// interruptedAfter is how long work may stay in progress, with several
// replicas, before the leader takes it for the work of a replica that
// stopped: longer than any plan, and than an apply's usual health wait.
const interruptedAfter = 30 * time.Minute

// runLoops runs the periodic, level-triggered work until ctx ends: a
// resync of open pull requests at once and every server.resync_interval,
// and a drift check every server.drift_interval. With several replicas
// only the leader runs it.
func (s *Server) runLoops(ctx context.Context) {
	if s.deps == nil {
		return
	}
	log := zerolog.Ctx(ctx)
	resync := time.NewTicker(time.Duration(s.cfg.Server.ResyncInterval))
	defer resync.Stop()
	drift := time.NewTicker(time.Duration(s.cfg.Server.DriftInterval))
	defer drift.Stop()
	// pass runs one pass; a panic in it is logged and counted, and the
	// loop goes on to the next tick.
	pass := func(what string, fn func() error) {
		err := recovery.Call(fn)
		var p *recovery.Panic
		switch {
		case errors.As(err, &p):
			s.metrics.Panics.WithLabelValues("loop").Inc()
			log.Error().Str("panic", p.Error()).Str("stack", string(p.Stack)).Msg("internal error: the " + what + " pass panicked")
		case err != nil && ctx.Err() == nil:
			log.Error().Err(err).Msg(what)
		}
	}
	resyncNow := func() { pass("resync", func() error { return s.deps.Resync(ctx, s.interrupted) }) }
	resyncNow()
	for {
		select {
		case <-ctx.Done():
			return
		case <-resync.C:
			resyncNow()
		case <-drift.C:
			pass("drift", func() error { return s.deps.Drift(ctx) })
		}
	}
}

// interrupted tells work a stopped process left in progress from work
// under way: anything older than this process when it is the only
// replica; with several, only what has also run for longer than any
// work should.
func (s *Server) interrupted(started time.Time) bool {
	if started.IsZero() || !started.Before(s.started) {
		return false
	}
	return s.cfg.Store.Kind == config.StoreBolt || time.Since(started) > interruptedAfter
}
