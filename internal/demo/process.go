package demo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// stopGrace is how long slipway gets to drain after SIGTERM before it is
// killed.
const stopGrace = 15 * time.Second

// waitReady polls url until it answers 200; it fails at once if the
// process exits.
func waitReady(ctx context.Context, p *testenv.Process, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.Done():
			_, err := p.Exited()
			return fmt.Errorf("slipway serve exited (%v):\n%s", err, logTail(p))
		case <-ctx.Done():
			return fmt.Errorf("slipway serve not ready after %s: %w\n%s", timeout, ctx.Err(), logTail(p))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// logTail introduces the end of slipway's log, for errors.
func logTail(p *testenv.Process) string { return "slipway's log ends:\n" + p.LogTail() }

// command is exec.CommandContext that stops the command with SIGTERM.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

var errExited = errors.New("slipway serve exited")
