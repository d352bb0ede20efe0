package scheduler

import "sync"

// recentSet remembers the most recent ids it was given, at most its
// capacity of them (adding one more forgets the oldest), so the scheduler
// can tell a redelivery from a first sighting. It is safe for concurrent use.
type recentSet struct {
	mu    sync.Mutex
	slots []string       // ring of ids in insertion order
	next  int            // slot the next id goes in
	index map[string]int // id → its slot
}

// newRecentSet returns a recentSet that remembers up to capacity ids (at least one).
func newRecentSet(capacity int) *recentSet {
	capacity = max(1, capacity)
	return &recentSet{slots: make([]string, capacity), index: make(map[string]int, capacity)}
}

// Add records id and reports whether it was new; false means id was added
// before and is still remembered.
func (s *recentSet) Add(id string) bool {
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
func (s *recentSet) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.index, id)
}

// Len is how many ids are remembered.
func (s *recentSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}
