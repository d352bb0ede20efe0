package workflow

import "sync"

// FilesCache remembers, for a bounded number of commits, the files each
// environment's render reads there. A commit never changes, so entries
// never go stale; the oldest is dropped when the cache is full.
type FilesCache struct {
	mu      sync.Mutex
	max     int
	order   []string
	entries map[string]map[string][]string
}

// NewFilesCache keeps up to max commits.
func NewFilesCache(max int) *FilesCache {
	return &FilesCache{max: max, entries: map[string]map[string][]string{}}
}

func (c *FilesCache) get(key string) (map[string][]string, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	files, ok := c.entries[key]
	return files, ok
}

func (c *FilesCache) put(key string, files map[string][]string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	if len(c.order) == c.max {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, key)
	c.entries[key] = files
}
