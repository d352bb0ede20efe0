package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// pollInterval is how often readiness checks run. Components become ready in
// hundreds of milliseconds to seconds, so a short interval matters more for
// startup time than the few extra requests it costs.
const pollInterval = 100 * time.Millisecond

// errPortInUse marks a startup that failed because a port picked by freePort
// was taken by someone else in between; the caller retries with new ports.
var errPortInUse = errors.New("port already in use")

// waitFor polls check until it succeeds, ctx ends, or one of procs exits.
// what describes the condition for the error message, which carries the tail
// of every watched process's log: that is where the reason is.
func waitFor(ctx context.Context, what string, check func(context.Context) error, procs ...*Process) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		for _, p := range procs {
			if err := p.crashErr(); err != nil {
				if logContains(p, "address already in use") {
					return fmt.Errorf("%w: %w", errPortInUse, err)
				}
				return fmt.Errorf("testenv: waiting for %s: %w", what, err)
			}
		}
		checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lastErr = check(checkCtx)
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			fmt.Fprintf(&b, "testenv: timed out waiting for %s (%v); last check: %v", what, context.Cause(ctx), lastErr)
			for _, p := range procs {
				fmt.Fprintf(&b, "\n--- %s log %s ends with:\n%s", p.name, p.logPath, p.LogTail())
			}
			return errors.New(b.String())
		case <-tick.C:
		}
	}
}

// logContains reports whether the process log contains s.
func logContains(p *Process, s string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && strings.Contains(string(data), s)
}

// portAttempts bounds retries after a port race; losing the race three times
// in a row means something else is wrong.
const portAttempts = 3

// retryOnPortRace runs start until it succeeds or fails for a reason other
// than a port picked by freePort being taken before the process bound it.
func retryOnPortRace[T any](start func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range portAttempts {
		v, err = start()
		if !errors.Is(err, errPortInUse) {
			return v, err
		}
	}
	return v, err
}
