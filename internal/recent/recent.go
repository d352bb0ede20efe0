// Package recent remembers the most recent ids it was given, a bounded
// number of them, so a caller can tell a repeat from a first sighting.
package recent

import "sync"

// Set holds at most its capacity of ids; adding one more forgets the
// oldest. It is safe for concurrent use.
type Set struct {
	mu    sync.Mutex
	slots []string       // ring of ids in insertion order
	next  int            // slot the next id goes in
	index map[string]int // id → its slot
}

// New returns a Set that remembers up to capacity ids (at least one).
func New(capacity int) *Set {
	capacity = max(1, capacity)
	return &Set{slots: make([]string, capacity), index: make(map[string]int, capacity)}
}

// Add records id and reports whether it was new; false means id was added
// before and is still remembered.
func (s *Set) Add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.index[id]; seen {
		return false
	}
	if old := s.slots[s.next]; old != "" && s.index[old] == s.next {
		delete(s.index, old)
	}
	s.slots[s.next] = id
	s.index[id] = s.next
	s.next = (s.next + 1) % len(s.slots)
	return true
}

// Forget drops id, so that adding it again counts as new.
func (s *Set) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.index, id)
}

// Len is how many ids are remembered.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}
