package soak

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// replica is one `slipway serve` process slot: killed with SIGKILL and
// started again on the same address, each life logging to its own file.
type replica struct {
	name    string
	addr    string // webhooks
	metrics string // /metrics, its own port
	dir     string
	binary  string
	args    []string
	environ []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	up      bool // answering /readyz since the last start
	killing bool // the soak killed or stopped it: its exit is expected
	lives   int
	logs    []string // one per life
	crashes []string // exits the soak did not cause
	exited  chan struct{}
}

func (r *replica) hookURL() string { return "http://" + r.addr + "/api/github/hook" }

func (r *replica) ready() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.up }

func (r *replica) alive() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.cmd != nil }

// start runs a new life and waits until it is ready.
func (r *replica) start(ctx context.Context) error {
	r.mu.Lock()
	r.lives++
	logPath := filepath.Join(r.dir, fmt.Sprintf("%s.%d.log", r.name, r.lives))
	r.logs = append(r.logs, logPath)
	r.mu.Unlock()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(r.binary, r.args...)
	cmd.Dir = r.dir
	cmd.Env = append(append([]string(nil), r.environ...), "SLIPWAY_SERVER_ADDRESS="+r.addr, "SLIPWAY_SERVER_METRICS_ADDRESS="+r.metrics)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so a kill reaches the render children too;
	// Pdeathsig so that a soak that dies takes its replicas along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", r.name, err)
	}
	exited := make(chan struct{})
	r.mu.Lock()
	r.cmd, r.killing, r.exited = cmd, false, exited
	r.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logFile.Close()
		r.mu.Lock()
		if !r.killing {
			r.crashes = append(r.crashes, fmt.Sprintf("%s (life %d) exited on its own: %v", r.name, r.lives, err))
		}
		r.cmd, r.up = nil, false
		r.mu.Unlock()
		close(exited)
	}()
	return r.waitReady(ctx, exited, logPath)
}

func (r *replica) waitReady(ctx context.Context, exited chan struct{}, logPath string) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.addr+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				r.mu.Lock()
				r.up = true
				r.mu.Unlock()
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting; see %s", r.name, logPath)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w; see %s", r.name, ctx.Err(), logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL to the process group and waits until it is reaped.
func (r *replica) kill() bool { return r.signal(syscall.SIGKILL, 0) }

// stop asks the process to shut down and kills it after grace.
func (r *replica) stop(grace time.Duration) { r.signal(syscall.SIGTERM, grace) }

func (r *replica) signal(sig syscall.Signal, grace time.Duration) bool {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	if cmd == nil {
		r.mu.Unlock()
		return false
	}
	r.killing, r.up = true, false
	pid := cmd.Process.Pid
	r.mu.Unlock()
	select {
	case <-exited: // gone already: its group id may be free, signal nothing
		return true
	default:
	}
	_ = syscall.Kill(-pid, sig)
	if sig != syscall.SIGKILL {
		select {
		case <-exited:
			return true
		case <-time.After(grace):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	<-exited
	return true
}
