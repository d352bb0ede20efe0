package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	type step struct {
		at   time.Duration // since the start
		key  string
		want bool
	}
	tests := []struct {
		name     string
		capacity int
		steps    []step
	}{
		{"once per window per key", 10, []step{
			{0, "rita", true}, {time.Second, "rita", false}, {9 * time.Minute, "rita", false}, {10 * time.Minute, "rita", true},
		}},
		{"keys are independent", 10, []step{
			{0, "rita#1", true}, {0, "rita#2", true}, {0, "sam#1", true}, {time.Minute, "rita#1", false},
		}},
		{"a refused try does not extend the window", 10, []step{
			{0, "rita", true}, {9 * time.Minute, "rita", false}, {10 * time.Minute, "rita", true},
		}},
		{"full of live keys: new keys are refused", 2, []step{
			{0, "a", true}, {time.Second, "b", true}, {2 * time.Second, "c", false}, {time.Minute, "a", false},
		}},
		{"full, but expired keys make room", 2, []step{
			{0, "a", true}, {time.Second, "b", true}, {10 * time.Minute, "c", true}, {10*time.Minute + time.Second, "d", true}, {10*time.Minute + 2*time.Second, "e", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(10*time.Minute, tt.capacity)
			start := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
			for i, s := range tt.steps {
				l.now = func() time.Time { return start.Add(s.at) }
				if got := l.Allow(s.key); got != s.want {
					t.Errorf("step %d: Allow(%q) at +%s = %v, want %v", i, s.key, s.at, got, s.want)
				}
			}
			if n := len(l.last); n > tt.capacity {
				t.Errorf("remembers %d keys, more than its capacity %d", n, tt.capacity)
			}
		})
	}
}

func TestAllowConcurrentOncePerKey(t *testing.T) {
	l := New(time.Hour, 100)
	var mu sync.Mutex
	allowed := map[string]int{}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			key := fmt.Sprint("user", i%10)
			if l.Allow(key) {
				mu.Lock()
				allowed[key]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(allowed) != 10 {
		t.Errorf("%d keys let through, want 10", len(allowed))
	}
	for k, n := range allowed {
		if n != 1 {
			t.Errorf("%s let through %d times", k, n)
		}
	}
}
