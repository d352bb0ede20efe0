// Package backoff spaces out repeated attempts: exponentially growing,
// jittered delays, and a sleep that ends early when the context does.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff: Base before the second attempt,
// doubling each time, never more than Max.
type Policy struct {
	Base, Max time.Duration
}

// Delay is the wait before attempt n+1 after n failed attempts (n ≥ 1):
// half of the exponential step fixed, half random, so that callers that
// failed together do not come back together.
func (p Policy) Delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Jitter lengthens a wait someone else named (GitHub's Retry-After, a rate
// limit's reset time) by up to a tenth plus half a second, so that every
// caller told the same time does not return at the same instant.
func Jitter(d time.Duration) time.Duration {
	spread := max(d, 0)/10 + 500*time.Millisecond
	return max(d, 0) + rand.N(spread)
}

// Sleep waits for d or until ctx ends, whichever is first, and returns the
// context's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
