package renderproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Small limits, so that a bomb is stopped in seconds.
var testLimits = Limits{Timeout: 3 * time.Second, MaxMemory: 128 << 20, MaxObjects: 100, MaxOutput: 8 << 20}

const chartYAML = "apiVersion: v2\nname: bomb\nversion: 0.1.0\n"

// loopChart never finishes: 10^15 iterations, each cheap, in little memory.
var loopChart = map[string]string{
	"Chart.yaml":          chartYAML,
	"templates/loop.yaml": "{{- range until 100000 }}{{- range until 100000 }}{{- range until 100000 }}{{- end }}{{- end }}{{- end }}\n",
}

// growChart doubles a string 64 times: 16 EiB, were it allowed.
var growChart = map[string]string{
	"Chart.yaml": chartYAML,
	"templates/grow.yaml": `{{- $s := "x" }}{{- range until 64 }}{{- $s = printf "%s%s" $s $s }}{{- end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: grown
data:
  s: {{ $s | quote }}
`,
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, "deploy/app", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var appEnv = &repoconfig.Environment{Name: "staging", Path: "deploy/app", Namespace: "shop"}

// hugeChart asks for 1 GB in one allocation: the hard cap refuses it before
// a single page is touched.
var hugeChart = map[string]string{
	"Chart.yaml":          chartYAML,
	"templates/huge.yaml": `{{- $s := repeat 1000000000 "x" }}` + "\n",
}

// A chart that loops forever and one that allocates without bound are each
// stopped at their limit, the check says which, and nothing is left behind:
// no process (running or zombie) of the render's group, no goroutine.
func TestBombsStopped(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		limit  string
		within time.Duration
		want   string
	}{
		{"endless loop", loopChart, KeyTimeout, testLimits.Timeout + 2*time.Second, "render of staging stopped: it ran past render.timeout (3s)"},
		{"unbounded allocation", growChart, KeyMaxMemory, testLimits.Timeout, "render of staging stopped: it used more than render.max_memory (128Mi)"},
		{"one huge allocation", hugeChart, KeyMaxMemory, testLimits.Timeout, "render of staging stopped: it used more than render.max_memory (128Mi)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			goroutines := runtime.NumGoroutine()
			stopWatch := watchChildren(t)
			start := time.Now()
			_, err := Render(context.Background(), root, appEnv, render.Options{}, testLimits)
			took := time.Since(start)
			group := stopWatch()

			var le *LimitError
			if !errors.As(err, &le) || le.Limit != tt.limit {
				t.Fatalf("err = %v (%T); want a LimitError for %s", err, err, tt.limit)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("message %q\ndoes not start %q", err, tt.want)
			}
			if took > tt.within {
				t.Errorf("stopped after %s, want within %s", took, tt.within)
			}
			if group == 0 {
				t.Fatal("never saw the render process")
			}
			noneLeft(t, group)
			settled(t, goroutines)
		})
	}
	// The children's peak resident memory (getrusage of reaped children)
	// stayed near the memory limit: without it, the allocation would have
	// taken the machine's memory.
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		t.Fatal(err)
	}
	if peak := ru.Maxrss << 10; peak > 3*testLimits.MaxMemory {
		t.Errorf("a render child peaked at %d MiB resident, limit %d MiB", peak>>20, testLimits.MaxMemory>>20)
	}
}

// A render the caller gives up on (a shutdown, a cancelled job) is killed
// and reaped at once, and reported as the caller's cancellation, not as a
// limit.
func TestCancelledRenderKilled(t *testing.T) {
	root := writeTree(t, loopChart)
	goroutines := runtime.NumGoroutine()
	stopWatch := watchChildren(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Render(ctx, root, appEnv, render.Options{}, testLimits)
	group := stopWatch()
	var le *LimitError
	if errors.As(err, &le) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v; want the caller's deadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("returned after %s, want at once", took)
	}
	if group == 0 {
		t.Fatal("never saw the render process")
	}
	noneLeft(t, group)
	settled(t, goroutines)
}

func TestTooManyObjectsRefused(t *testing.T) {
	var sb strings.Builder
	for i := range 250 {
		fmt.Fprintf(&sb, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n", i)
	}
	root := writeTree(t, map[string]string{"many.yaml": sb.String()})
	_, err := Render(context.Background(), root, appEnv, render.Options{}, testLimits)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != KeyMaxObjects || le.Objects != 250 {
		t.Fatalf("err = %v; want a LimitError for %s with 250 objects", err, KeyMaxObjects)
	}
	if want := "render of staging stopped: it produced 250 objects, more than render.max_objects (100)"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q\ndoes not start %q", err, want)
	}
}

func TestOutputCapped(t *testing.T) {
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: " + strings.Repeat("x", 64<<10) + "\n"
	root := writeTree(t, map[string]string{"big.yaml": big})
	limits := testLimits
	limits.MaxOutput = 16 << 10
	goroutines := runtime.NumGoroutine()
	_, err := Render(context.Background(), root, appEnv, render.Options{}, limits)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != KeyMaxOutput {
		t.Fatalf("err = %v; want a LimitError for %s", err, KeyMaxOutput)
	}
	if want := "render of staging stopped: its output was larger than render.max_output (16Ki)"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q\ndoes not start %q", err, want)
	}
	settled(t, goroutines)
}

// watchChildren notes the process group of the render child this test
// starts, by watching /proc for a child of this process. stop ends the
// watch and returns the group (0 if none was seen).
func watchChildren(t *testing.T) func() int {
	t.Helper()
	var (
		mu    sync.Mutex
		group int
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			for _, p := range children(t) {
				mu.Lock()
				if group == 0 {
					group = p.pgrp
				}
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return group
	}
}

type proc struct {
	pid, ppid, pgrp int
	start           uint64 // clock ticks after boot
}

// children lists this process's child processes, zombies included.
func children(t *testing.T) []proc {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []proc
	for _, d := range dirs {
		p, ok := readStat(d)
		if ok && p.ppid == os.Getpid() {
			out = append(out, p)
		}
	}
	return out
}

// readStat parses pid, ppid and pgrp from /proc/PID/stat, whose second
// field (the command, in parentheses) may hold spaces.
func readStat(path string) (proc, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return proc{}, false // gone meanwhile
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
	f := strings.Fields(s[end+1:]) // state ppid pgrp ...
	if len(f) < 3 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	pgrp, _ := strconv.Atoi(f[2])
	var start uint64
	if len(f) > 19 { // field 22 of stat, the 20th after the command
		start, _ = strconv.ParseUint(f[19], 10, 64)
	}
	return proc{pid, ppid, pgrp, start}, true
}

// noneLeft checks that no process of group remains, not even a zombie, and
// that this process has no child left. Once the group is empty its id is
// free: on a busy machine a new process may lead a group of that number, so
// a member counts only if it started before the check.
func noneLeft(t *testing.T, group int) {
	t.Helper()
	if err := syscall.Kill(-group, 0); !errors.Is(err, syscall.ESRCH) {
		now := bootTicks(t)
		dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, d := range dirs {
			if p, ok := readStat(d); ok && p.pgrp == group && p.start < now {
				t.Errorf("process %d of group %d still exists after the render returned", p.pid, group)
			}
		}
	}
	if left := children(t); len(left) > 0 {
		t.Errorf("child processes left after the render returned: %+v", left)
	}
}

// settled waits a little for goroutines to wind down to the baseline.
func settled(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before the render:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bootTicks is now, in the clock ticks (USER_HZ, 100 on Linux) that
// /proc/PID/stat counts process start times in, minus one tick of margin.
func bootTicks(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	up, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(up*100) - 1
}
