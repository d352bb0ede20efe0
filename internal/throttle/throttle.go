// Package throttle lets an action through at most once per key in a time
// window, with a bounded memory, so that people without permission cannot
// make slipway spend its GitHub rate limit answering them.
package throttle

import (
	"sync"
	"time"
)

// Limiter remembers when each key was last let through. It keeps its state
// in memory on purpose: what it guards (replies to outsiders) is cheap to
// get wrong by a little, so each replica and each restart starting afresh
// costs at most one extra reply per key, and nothing needs to be shared.
// It is safe for concurrent use.
type Limiter struct {
	window   time.Duration
	capacity int
	now      func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
}

// New returns a Limiter that lets each key through once per window and
// remembers at most capacity keys (at least one).
func New(window time.Duration, capacity int) *Limiter {
	return &Limiter{window: window, capacity: max(1, capacity), now: time.Now, last: map[string]time.Time{}}
}

// Allow reports whether key may act now, and if so records that it did.
// When capacity keys acted within the window, new keys are refused until
// some of them expire: more distinct keys than that in one window is an
// attack, and refusing bounds the total to capacity per window.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.window {
		return false
	}
	if _, ok := l.last[key]; !ok && len(l.last) >= l.capacity {
		l.forgetExpired(now)
		if len(l.last) >= l.capacity {
			return false
		}
	}
	l.last[key] = now
	return true
}

// forgetExpired drops keys whose window has passed.
func (l *Limiter) forgetExpired(now time.Time) {
	for k, t := range l.last {
		if now.Sub(t) >= l.window {
			delete(l.last, k)
		}
	}
}
