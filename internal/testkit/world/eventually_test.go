package world

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	stop := errors.New("the server exited")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		cond    func(calls int) (bool, error)
		want    error  // errors.Is the result; nil: success
		message string // in the error
		calls   int    // cond was called this often at the most
	}{
		{"holds at once", context.Background(), func(int) (bool, error) { return true, nil }, nil, "", 1},
		{"holds on the third look", context.Background(), func(n int) (bool, error) { return n == 3, nil }, nil, "", 3},
		{"never holds", context.Background(), func(int) (bool, error) { return false, nil }, ErrTimeout, "timed out after 50ms waiting for the thing", 100},
		{"cond gives up", context.Background(), func(n int) (bool, error) { return false, stop }, stop, "the server exited", 1},
		{"context ended", cancelled, func(int) (bool, error) { return false, nil }, context.Canceled, "context canceled while waiting for the thing", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Wait(tt.ctx, 50*time.Millisecond, "the thing", func() (bool, error) {
				calls++
				return tt.cond(calls)
			})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Wait = %v, want %v", err, tt.want)
			}
			if err != nil && err.Error() != tt.message {
				t.Errorf("error %q, want %q", err, tt.message)
			}
			if calls > tt.calls {
				t.Errorf("cond called %d times, want at most %d", calls, tt.calls)
			}
		})
	}
}

// Eventually works in a cleanup, where the test's context has ended.
func TestEventuallyInCleanup(t *testing.T) {
	looks := 0
	t.Run("waits in its cleanup", func(t *testing.T) {
		t.Cleanup(func() { Eventually(t, time.Second, "the third look", func() bool { looks++; return looks == 3 }) })
	})
	if looks != 3 {
		t.Errorf("cond looked %d times, want 3", looks)
	}
}
