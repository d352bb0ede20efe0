package runqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
