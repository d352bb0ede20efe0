package runqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/recovery"
)

func TestOneAtATimePerKeyAndCoalescing(t *testing.T) {
	q := New(4)
	release := make(chan struct{})
	var mu sync.Mutex
	var ran []string
	record := func(name string, block bool) func(context.Context) {
		return func(ctx context.Context) {
			if block {
				<-release
			}
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
		}
	}
	q.Submit(Job{Key: "pr1", Coalesce: true, Run: record("push1", true)})
	time.Sleep(20 * time.Millisecond) // push1 is running
	q.Submit(Job{Key: "pr1", Coalesce: true, Run: record("push2", false)})
	q.Submit(Job{Key: "pr1", Coalesce: true, Run: record("push3", false)})
	q.Submit(Job{Key: "pr1", Run: record("apply", false)})
	close(release)
	if err := q.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"push1", "push3", "apply"}
	if fmt.Sprint(ran) != fmt.Sprint(want) {
		t.Errorf("ran %v, want %v (push2 coalesced into push3)", ran, want)
	}
}

func TestSupersedeCancelsInterruptibleOnly(t *testing.T) {
	tests := []struct {
		name          string
		interruptible bool
		wantCause     error
	}{
		{"plan is cut short", true, ErrSuperseded},
		{"apply runs to the end", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := New(2)
			started := make(chan struct{})
			var cause atomic.Value
			q.Submit(Job{Key: "pr", Interruptible: tt.interruptible, Run: func(ctx context.Context) {
				close(started)
				select {
				case <-ctx.Done():
					cause.Store(context.Cause(ctx))
				case <-time.After(200 * time.Millisecond):
				}
			}})
			<-started
			q.Submit(Job{Key: "pr", Supersedes: true, Run: func(context.Context) {}})
			if err := q.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, _ := cause.Load().(error)
			if !errors.Is(got, tt.wantCause) || (tt.wantCause == nil && got != nil) {
				t.Errorf("cause %v, want %v", got, tt.wantCause)
			}
		})
	}
}

func TestBoundedWorkers(t *testing.T) {
	q := New(3)
	var running, peak atomic.Int32
	for i := 0; i < 20; i++ {
		q.Submit(Job{Key: fmt.Sprint(i), Run: func(context.Context) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			running.Add(-1)
		}})
	}
	if err := q.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
}

func TestDrainBoundCancels(t *testing.T) {
	q := New(1)
	q.Submit(Job{Key: "stuck", Run: func(ctx context.Context) { <-ctx.Done() }})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain = %v, want deadline exceeded", err)
	}
}

// A job that panics costs that job only: the handler hears of it, the
// worker slot is freed, and the same key's next job and other keys run.
func TestPanickingJobDoesNotStopTheQueue(t *testing.T) {
	var mu sync.Mutex
	var panics []string
	q := New(1, WithPanicHandler(func(key string, p *recovery.Panic) {
		mu.Lock()
		defer mu.Unlock()
		panics = append(panics, key+": "+p.Error())
		if !strings.Contains(string(p.Stack), "runqueue_test.go") {
			t.Errorf("stack does not show the job:\n%s", p.Stack)
		}
	}))
	var ran atomic.Int32
	q.Submit(Job{Key: "pr1", Run: func(context.Context) { panic("boom") }})
	q.Submit(Job{Key: "pr1", Run: func(context.Context) { ran.Add(1) }})
	q.Submit(Job{Key: "pr2", Run: func(context.Context) { var m map[string]int; m["x"] = 1 }})
	q.Submit(Job{Key: "pr3", Run: func(context.Context) { ran.Add(1) }})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Drain(ctx); err != nil {
		t.Fatalf("drain: %v (a panic kept a worker slot?)", err)
	}
	if ran.Load() != 2 {
		t.Errorf("%d jobs ran after the panics, want 2", ran.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(panics)
	want := []string{"pr1: panic: boom", "pr2: panic: assignment to entry in nil map"}
	if fmt.Sprint(panics) != fmt.Sprint(want) {
		t.Errorf("panics %q, want %q", panics, want)
	}
}

// Whatever arrives while a job that may not be interrupted (an apply) runs
// waits behind it, coalesced as usual, and runs once it ends; the same
// arrivals cut short a job that may be interrupted (a plan).
func TestArrivalsDuringARunningJob(t *testing.T) {
	push := Job{Supersedes: true, Interruptible: true, Coalesce: true}
	tests := []struct {
		name          string
		interruptible bool
		arrivals      []Job
		wantCut       bool
		wantRan       []string // after the running job: the arrivals that ran, by index
	}{
		{"apply, then a push", false, []Job{push}, false, []string{"0"}},
		{"apply, then two pushes coalesce", false, []Job{push, push}, false, []string{"1"}},
		{"apply, then a /plan and a close", false, []Job{{Supersedes: true, Interruptible: true}, {Supersedes: true}}, false, []string{"0", "1"}},
		{"apply, then another apply", false, []Job{{Supersedes: true}}, false, []string{"0"}},
		{"plan, then a push", true, []Job{push}, true, []string{"0"}},
		{"plan, then an apply", true, []Job{{Supersedes: true}}, true, []string{"0"}},
		{"plan, then a review (does not supersede)", true, []Job{{Coalesce: true}}, false, []string{"0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := New(2)
			started, release := make(chan struct{}), make(chan struct{})
			var mu sync.Mutex
			var ran []string
			cut := false
			q.Submit(Job{Key: "pr", Interruptible: tt.interruptible, Run: func(ctx context.Context) {
				close(started)
				select {
				case <-ctx.Done():
					cut = errors.Is(context.Cause(ctx), ErrSuperseded)
				case <-release:
				}
				mu.Lock()
				ran = append(ran, "running")
				mu.Unlock()
			}})
			<-started
			for i, j := range tt.arrivals {
				j.Key = "pr"
				j.Run = func(context.Context) {
					mu.Lock()
					ran = append(ran, fmt.Sprint(i))
					mu.Unlock()
				}
				q.Submit(j)
			}
			close(release)
			if err := q.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			if cut != tt.wantCut {
				t.Errorf("running job cut short: %v, want %v", cut, tt.wantCut)
			}
			if want := append([]string{"running"}, tt.wantRan...); fmt.Sprint(ran) != fmt.Sprint(want) {
				t.Errorf("ran %v, want %v", ran, want)
			}
		})
	}
}
