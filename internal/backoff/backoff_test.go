package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{10, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			if d := p.Delay(tt.n); d < tt.min || d > tt.max {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tt.n, d, tt.min, tt.max)
			}
		}
	}
	if d := (Policy{}).Delay(3); d != 0 {
		t.Errorf("zero policy waits %v", d)
	}
}

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, time.Minute} {
		for range 50 {
			if got := Jitter(d); got < d || got > d+d/10+500*time.Millisecond {
				t.Fatalf("Jitter(%v) = %v", d, got)
			}
		}
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	cause := errors.New("shutting down")
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel(cause) }()
	start := time.Now()
	if err := Sleep(ctx, time.Minute); !errors.Is(err, cause) {
		t.Errorf("Sleep = %v, want the context's cause", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("Sleep outlived its context")
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
}
