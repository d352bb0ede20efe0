// Package scheduler runs webhook handlers on go-githubapp's bounded worker
// queue, once per delivery, measures them, and lets the server drain them on
// shutdown.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/recovery"
)

// RecentDeliveries is how many delivery ids a scheduler remembers to answer
// a redelivery without handling it twice. GitHub redelivers with the same
// X-GitHub-Delivery; the set lives in memory, so each replica (and each
// restart) has its own: a redelivery reaching another replica is handled
// again, which the workflows tolerate (they are level-triggered).
const RecentDeliveries = 10_000

// ErrDraining is returned for deliveries that arrive after shutdown began.
var ErrDraining = errors.New("scheduler: shutting down")

// Scheduler is a githubapp.Scheduler that can be drained.
type Scheduler struct {
	inner   githubapp.Scheduler
	metrics *metrics.Metrics

	// base is the parent of every handler's context; cancelling it tells
	// handlers still running after the drain bound to give up.
	base   context.Context
	cancel context.CancelFunc

	// seen holds the ids of deliveries scheduled and not failed.
	seen *recentSet

	mu       sync.Mutex
	draining bool
	inflight sync.WaitGroup
}

// New starts workers that take deliveries from a queue of queueSize.
func New(workers, queueSize int, m *metrics.Metrics) *Scheduler {
	base, cancel := context.WithCancel(context.Background())
	s := &Scheduler{metrics: m, base: base, cancel: cancel, seen: newRecentSet(RecentDeliveries)}
	s.inner = githubapp.QueueAsyncScheduler(queueSize, workers,
		githubapp.WithContextDeriver(s.derive),
		githubapp.WithAsyncErrorCallback(s.onError),
	)
	return s
}

// Schedule queues d, or fails with githubapp.ErrCapacityExceeded when the
// queue is full and ErrDraining once shutdown began. A delivery whose id was
// scheduled before is not queued again (the dispatcher answers it 200),
// unless its handling failed: then GitHub's redelivery is the retry.
//
// The dispatcher calls Schedule only for a delivery whose signature it
// verified, so a forged request cannot claim an id before GitHub sends it.
func (s *Scheduler) Schedule(ctx context.Context, d githubapp.Dispatch) error {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		return ErrDraining
	}
	if d.DeliveryID != "" && !s.seen.Add(d.DeliveryID) {
		s.mu.Unlock()
		s.metrics.DuplicateDeliveries.Inc()
		zerolog.Ctx(ctx).Info().Msg("delivery already handled; answered without handling it again")
		return nil
	}
	s.inflight.Add(1)
	s.mu.Unlock()

	s.metrics.QueueDepth.Inc()
	d.Handler = &measured{EventHandler: d.Handler, s: s}
	if err := s.inner.Schedule(ctx, d); err != nil {
		s.metrics.QueueDepth.Dec()
		s.inflight.Done()
		s.forget(d.DeliveryID)
		return err
	}
	return nil
}

// forget lets a later delivery of id be handled.
func (s *Scheduler) forget(id string) {
	if id != "" {
		s.seen.Forget(id)
	}
}

// Drain refuses new deliveries and waits for queued and running ones until
// ctx ends; then it cancels the handlers' contexts and reports how it went.
func (s *Scheduler) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		return fmt.Errorf("drain: handlers still running after the shutdown bound: %w", ctx.Err())
	}
}

// derive gives each handler a context of its own (the request's ends when the
// webhook is answered) that carries the request's logger.
func (s *Scheduler) derive(ctx context.Context) context.Context {
	return zerolog.Ctx(ctx).WithContext(githubapp.InitializeResponder(s.base))
}

// onError logs a handler's failure. A *recovery.Panic was logged, counted
// and reported by the handler's own recovery (handler.Recovering); a panic
// that reaches go-githubapp's recovery is logged and counted here.
func (s *Scheduler) onError(ctx context.Context, d githubapp.Dispatch, err error) {
	var recovered *recovery.Panic
	if errors.As(err, &recovered) {
		return
	}
	ev := zerolog.Ctx(ctx).Error().Err(err)
	var panicErr githubapp.HandlerPanicError
	if errors.As(err, &panicErr) {
		s.metrics.Panics.WithLabelValues("handler").Inc()
		ev = ev.Str("stack", fmt.Sprintf("%+v", panicErr))
	}
	ev.Msg("handler failed")
}

type measured struct {
	githubapp.EventHandler
	s *Scheduler
}

func (m *measured) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) (err error) {
	met := m.s.metrics
	met.QueueDepth.Dec()
	met.Running.Inc()
	start := time.Now()
	outcome := "panic"
	defer func() {
		if outcome != "ok" {
			m.s.forget(deliveryID)
		}
		met.Running.Dec()
		met.HandlerDuration.WithLabelValues(eventType, outcome).Observe(time.Since(start).Seconds())
		m.s.inflight.Done()
	}()
	err = m.EventHandler.Handle(ctx, eventType, deliveryID, payload)
	var recovered *recovery.Panic
	switch {
	case errors.As(err, &recovered):
		outcome = "panic"
	case err != nil:
		outcome = "error"
	default:
		outcome = "ok"
	}
	return err
}
