package recovery

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestCall(t *testing.T) {
	plain := errors.New("plain")
	tests := []struct {
		name      string
		fn        func() error
		wantPanic string // "" when no panic is expected
		wantErr   error
	}{
		{"returns the error", func() error { return plain }, "", plain},
		{"returns nil", func() error { return nil }, "", nil},
		{"panic with a string", func() error { panic("boom") }, "boom", nil},
		{"runtime error", func() error { var m map[string]int; m["x"]++; return nil }, "assignment to entry in nil map", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Call(tt.fn)
			var p *Panic
			switch {
			case tt.wantPanic == "" && !errors.Is(err, tt.wantErr):
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			case tt.wantPanic == "":
			case !errors.As(err, &p):
				t.Fatalf("err %v, want a *Panic", err)
			case !strings.Contains(p.Error(), tt.wantPanic):
				t.Errorf("panic %q does not say %q", p.Error(), tt.wantPanic)
			case !strings.Contains(string(p.Stack), "recovery_test.go"):
				t.Errorf("stack does not show where it panicked:\n%s", p.Stack)
			}
		})
	}
}

// A panic in a worker goroutine reaches the goroutine that waits, with the
// worker's stack, and Call there recovers it.
func TestCaughtCarriesPanicToTheWaiter(t *testing.T) {
	err := Call(func() error {
		var caught Caught
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				defer caught.Recover()
				if i == 2 {
					workerThatPanics()
				}
			})
		}
		wg.Wait()
		caught.Repanic()
		return nil
	})
	var p *Panic
	if !errors.As(err, &p) {
		t.Fatalf("err %v, want a *Panic", err)
	}
	if !strings.Contains(string(p.Stack), "workerThatPanics") {
		t.Errorf("stack is not the worker's:\n%s", p.Stack)
	}
}

func workerThatPanics() { panic("worker failed") }

func TestCaughtWithoutPanicDoesNothing(t *testing.T) {
	var caught Caught
	func() { defer caught.Recover() }()
	caught.Repanic() // must not panic
}
