package scheduler

import (
	"fmt"
	"sync"
	"testing"
)

func TestSet(t *testing.T) {
	type step struct {
		op   string // add | forget
		id   string
		want bool // for add: new?
	}
	tests := []struct {
		name     string
		capacity int
		steps    []step
		wantLen  int
	}{
		{"repeat is not new", 3, []step{{"add", "a", true}, {"add", "a", false}, {"add", "b", true}, {"add", "a", false}}, 2},
		{"oldest is forgotten past capacity", 2, []step{{"add", "a", true}, {"add", "b", true}, {"add", "c", true}, {"add", "a", true}, {"add", "c", false}}, 2},
		{"forget makes it new again", 3, []step{{"add", "a", true}, {"forget", "a", false}, {"add", "a", true}, {"add", "a", false}}, 1},
		// a was forgotten and re-added in another slot: evicting its first
		// slot must not drop the second sighting.
		{"eviction of a stale slot keeps the live one", 2, []step{{"add", "a", true}, {"forget", "a", false}, {"add", "b", true}, {"add", "a", true}, {"add", "a", false}}, 2},
		{"capacity below one is one", 0, []step{{"add", "a", true}, {"add", "b", true}, {"add", "a", true}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRecentSet(tt.capacity)
			for i, st := range tt.steps {
				switch st.op {
				case "add":
					if got := s.Add(st.id); got != st.want {
						t.Errorf("step %d: Add(%q) = %v, want %v", i, st.id, got, st.want)
					}
				case "forget":
					s.Forget(st.id)
				}
			}
			if got := s.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
		})
	}
}

// Of many goroutines adding the same id, exactly one sees it as new.
func TestSetConcurrentAddsOneWinner(t *testing.T) {
	s := newRecentSet(100)
	for round := range 50 {
		id := fmt.Sprint("delivery-", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for range 8 {
			wg.Go(func() {
				if s.Add(id) {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if winners != 1 {
			t.Fatalf("%s: %d goroutines saw it as new, want 1", id, winners)
		}
	}
}

func TestSetStaysBounded(t *testing.T) {
	s := newRecentSet(1000)
	for i := range 100_000 {
		s.Add(fmt.Sprint(i))
	}
	if s.Len() != 1000 {
		t.Fatalf("Len() = %d, want 1000", s.Len())
	}
	if s.Add("99999") {
		t.Error("the newest id was forgotten")
	}
	if !s.Add("0") {
		t.Error("the oldest id is still remembered")
	}
}
