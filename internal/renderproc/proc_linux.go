package renderproc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// rssInterval is how often the parent reads the child's resident memory.
const rssInterval = 10 * time.Millisecond

// executable is the running binary itself, even if its file has been
// replaced since it started: the child must speak the parent's protocol.
func executable() (string, error) { return "/proc/self/exe", nil }

// isolate puts the child in its own process group, so one signal reaches
// anything it starts, and has the kernel kill it should the server die
// first (Pdeathsig tracks the forking OS thread, which the Go runtime only
// retires when a goroutine locked to it exits; nothing here locks one).
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killGroup kills what is left of the process group pgid: nothing, usually;
// git, when a remote base was being fetched.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// waitExited blocks until the child pid has ended, without reaping it:
// until it is reaped, its pid (and so its process group id) cannot be
// reused, and killGroup cannot hit a stranger.
func waitExited(pid int) {
	const pPID, wEXITED, wNOWAIT = 1, 4, 0x1000000
	var info [128]byte // siginfo_t, unread
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])), wEXITED|wNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			return // 0, or ECHILD: nothing to wait for; cmd.Wait says what
		}
	}
}

// watchRSS reads pid's anonymous resident memory (heap and stacks: what a
// render allocates, not the executable's pages) every rssInterval and calls
// over once it passes limit. The returned stop ends the watch and returns
// once the watching goroutine has.
func watchRSS(pid int, limit int64, over func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	go func() {
		defer close(finished)
		tick := time.NewTicker(rssInterval)
		defer tick.Stop()
		for {
			if rss, err := statusField(path, "RssAnon:"); err == nil && rss > limit {
				over()
				return
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// capMemory caps the child's address space at what it has now plus twice
// limit. Go reserves far more address space than it uses (about 1.5 GiB at
// start here), so a fixed RLIMIT_AS fails healthy programs; measured from
// the start, the cap only bites when the heap grows past twice the limit,
// and then at the allocation: "runtime: out of memory", which the parent
// reports as the memory limit. RLIMIT_DATA would not do: the kernel does
// not charge Go's heap growth (a MAP_FIXED remap of reserved space) to it.
func capMemory(limit int64) error {
	size, err := statusField("/proc/self/status", "VmSize:")
	if err != nil {
		return err
	}
	capped := uint64(size + 2*limit)
	return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: capped, Max: capped})
}

// statusField reads a "Name:   123 kB" line of a /proc status file, in bytes.
func statusField(path, name string) (int64, error) {
	status, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(name)); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s in %s: %w", name, path, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no " + name + " in " + path)
}
