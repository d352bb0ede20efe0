package world

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// ErrTimeout is what Wait returns, wrapped, when its time is up.
var ErrTimeout = errors.New("timed out")

// Polling starts fast, for conditions that hold almost at once, and slows
// down so that long waits on a busy machine do not steal its CPU from what
// they wait for.
const (
	firstPoll = 10 * time.Millisecond
	maxPoll   = 100 * time.Millisecond
)

// Eventually polls cond until it holds, and fails t saying what it waited
// for when within has passed first. It does not watch t.Context(): that
// ends only once the test body has returned, which is when cleanups (that
// may wait too) run.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Wait(context.Background(), within, what, func() (bool, error) { return cond(), nil }); err != nil {
		t.Fatal(err)
	}
}

// Wait is Eventually for code without a *testing.T: it polls cond until
// it holds and returns nil, or returns cond's error as it is, or ctx's
// error or ErrTimeout, wrapped to say what it waited for.
func Wait(ctx context.Context, within time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for poll := firstPoll; ; poll = min(2*poll, maxPoll) {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s waiting for %s", ErrTimeout, within, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w while waiting for %s", ctx.Err(), what)
		case <-time.After(poll):
		}
	}
}
