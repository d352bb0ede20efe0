package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// stopGrace bounds how long a process may take to exit after SIGTERM before
// it is killed. Test clusters hold nothing worth a graceful shutdown, so this
// is short: it only lets well-behaved processes flush their logs.
const stopGrace = 5 * time.Second

// logTailBytes is how much of a process log goes into an error message.
const logTailBytes = 3000

// Process is one program (a control plane binary, or a server a demo runs)
// in its own process group, with stdout and stderr captured to a log file.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has been reaped

	mu       sync.Mutex
	waitErr  error
	stopping bool // Stop asked it to exit; an exit before that is a crash
}

// StartProcess runs bin with args in dir, its output in dir/name.log: the
// control plane's binaries, and programs a caller runs beside them. Each
// process gets its own process group so
// stop can signal it and anything it forks without touching other processes,
// and Pdeathsig so that a test binary that dies without calling Stop (panic,
// os.Exit, SIGKILL) takes its control plane down with it.
//
// Pdeathsig fires when the OS thread that forked the child exits, not the
// whole process; the Go runtime only retires threads locked with
// runtime.LockOSThread, which this package never does, so in practice it
// tracks the test binary.
func StartProcess(dir, name, bin string, args []string, env []string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testenv: create log for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("testenv: start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process id, which is also its process group id.
func (p *Process) pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended, and if so how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.waitErr
	default:
		return false, nil
	}
}

// crashErr returns an error with the log tail if the process ended before
// stop was called, nil otherwise.
func (p *Process) crashErr() error {
	done, err := p.Exited()
	p.mu.Lock()
	stopping := p.stopping
	p.mu.Unlock()
	if !done || stopping {
		return nil
	}
	if err == nil {
		err = errors.New("exit status 0")
	}
	return fmt.Errorf("testenv: %s exited unexpectedly (%v); log %s ends with:\n%s", p.name, err, p.logPath, p.LogTail())
}

// stop signals the process group with SIGTERM and, if it has not exited
// within stopGrace, with SIGKILL. It waits until the process is reaped, so
// its pid is free once stop returns.
func (p *Process) stop() { p.Stop(stopGrace) }

// Done is closed once the process has ended and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop signals the process group with SIGTERM and, if it has not exited
// within grace, with SIGKILL; it returns once the process is reaped.
func (p *Process) Stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	// Signal the group only while its leader has not been reaped: until then
	// the id cannot belong to anyone else. None of the binaries fork, so the
	// leader is the whole group.
	if done, _ := p.Exited(); done {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// LogTail returns the last logTailBytes of the process log, for error
// messages: the reason a component failed is nearly always at its end.
func (p *Process) LogTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	if len(data) > logTailBytes {
		data = data[len(data)-logTailBytes:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return string(data)
}

// freePort returns a loopback TCP port that was free a moment ago. Another
// process may take it before ours binds it; startWithPortRetry handles that.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddress is a loopback address (127.0.0.1:PORT) that was free a
// moment ago, for a server the caller starts: another process may take
// it first.
func FreeAddress() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return hostPort(port), nil
}

// hostPort formats a loopback address.
func hostPort(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
