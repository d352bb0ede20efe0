// Package runqueue runs work for one pull request at a time, on a bounded
// pool, coalescing bursts: of several jobs queued for a pull request only
// the newest runs, and a push can cut short the plan it makes stale. A job
// that panics is recovered: the key's next job and every other key go on.
package runqueue

import (
	"context"
	"errors"
	"sync"

	"github.com/slipwayhq/slipway/internal/recovery"
)

// ErrSuperseded is the cause of a running job's cancellation when a newer
// job for the same key replaces it.
var ErrSuperseded = errors.New("superseded by a newer request")

// Job is one unit of work for Key (a pull request, say "acme/shop#12").
type Job struct {
	Key string
	// Supersedes cuts short a running job of the same key that is
	// Interruptible (a push makes the running plan stale).
	Supersedes bool
	// Interruptible jobs may be cancelled by a superseding one; an apply is
	// not, a plan is.
	Interruptible bool
	// Coalesce lets a newer queued job of the same key replace this one
	// before it starts (two pushes in a row need one plan).
	Coalesce bool
	Run      func(ctx context.Context)
}

// Queue runs jobs, one at a time per key, at most workers at once.
type Queue struct {
	slots    chan struct{}
	base     context.Context
	stop     context.CancelCauseFunc
	panicked func(key string, p *recovery.Panic)

	mu   sync.Mutex
	keys map[string]*keyState
	wg   sync.WaitGroup
}

type keyState struct {
	running *Job
	cancel  context.CancelCauseFunc
	pending []*Job
}

// Option tunes a Queue.
type Option func(*Queue)

// WithPanicHandler calls fn with every panic a job's Run let out. Jobs
// should recover their own (to tell the user); this is the last resort that
// keeps the worker alive.
func WithPanicHandler(fn func(key string, p *recovery.Panic)) Option {
	return func(q *Queue) { q.panicked = fn }
}

// New returns a queue running at most workers jobs at once.
func New(workers int, opts ...Option) *Queue {
	base, stop := context.WithCancelCause(context.Background())
	q := &Queue{slots: make(chan struct{}, max(1, workers)), base: base, stop: stop, keys: map[string]*keyState{}}
	for _, o := range opts {
		o(q)
	}
	return q
}

// run runs j, recovering a panic it lets out.
func (q *Queue) run(ctx context.Context, key string, j *Job) {
	err := recovery.Call(func() error { j.Run(ctx); return nil })
	var p *recovery.Panic
	if errors.As(err, &p) && q.panicked != nil {
		q.panicked(key, p)
	}
}

// Submit queues j behind the jobs of the same key.
func (q *Queue) Submit(j Job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	st, ok := q.keys[j.Key]
	if !ok {
		st = &keyState{}
		q.keys[j.Key] = st
		q.wg.Add(1)
		go q.loop(j.Key, st)
	}
	if j.Coalesce && len(st.pending) > 0 && st.pending[len(st.pending)-1].Coalesce {
		st.pending[len(st.pending)-1] = &j
	} else {
		st.pending = append(st.pending, &j)
	}
	if j.Supersedes && st.running != nil && st.running.Interruptible {
		st.cancel(ErrSuperseded)
	}
}

// loop runs key's jobs in order until none is left.
func (q *Queue) loop(key string, st *keyState) {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(st.pending) == 0 {
			delete(q.keys, key)
			q.mu.Unlock()
			return
		}
		j := st.pending[0]
		st.pending = st.pending[1:]
		ctx, cancel := context.WithCancelCause(q.base)
		st.running, st.cancel = j, cancel
		q.mu.Unlock()

		select {
		case q.slots <- struct{}{}:
			q.run(ctx, key, j)
			<-q.slots
		case <-ctx.Done():
			// Cancelled while waiting for a slot: let it see the cause.
			q.run(ctx, key, j)
		}
		cancel(nil)

		q.mu.Lock()
		st.running, st.cancel = nil, nil
		q.mu.Unlock()
	}
}

// Drain waits for every queued and running job until ctx ends, then
// cancels what is still running and waits for it to return.
func (q *Queue) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		q.stop(ctx.Err())
		<-done
		return ctx.Err()
	}
}
