package transport

import (
	"container/list"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gregjones/httpcache"
)

// DefaultCacheBytes bounds the memory all clients' HTTP caches share.
const DefaultCacheBytes = 64 << 20

// responseCache is a least-recently-used cache of GitHub answers, bounded
// in bytes, that httpcache revalidates with If-None-Match: an unchanged
// answer comes back 304, which GitHub does not count against the rate
// limit. All clients share its budget; each sees only its own entries.
type responseCache struct {
	maxBytes int64
	clients  atomic.Int64

	mu    sync.Mutex
	bytes int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	val []byte
}

func newResponseCache(maxBytes int64) *responseCache {
	return &responseCache{maxBytes: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

// forClient is a view of the cache for one new client. Keys are per client
// because a client's answers are its installation's to see.
func (c *responseCache) forClient() httpcache.Cache {
	return cacheView{c: c, prefix: strconv.FormatInt(c.clients.Add(1), 10) + " "}
}

type cacheView struct {
	c      *responseCache
	prefix string
}

func (v cacheView) Get(key string) ([]byte, bool) { return v.c.get(v.prefix + key) }
func (v cacheView) Set(key string, val []byte)    { v.c.set(v.prefix+key, val) }
func (v cacheView) Delete(key string)             { v.c.delete(v.prefix + key) }

func (c *responseCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).val, true
}

func (c *responseCache) set(key string, val []byte) {
	size := int64(len(key) + len(val))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key)
	// One answer may not take more than an eighth of the budget: a huge
	// listing would otherwise push out everything else.
	if size > c.maxBytes/8 {
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, val: val})
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.remove(c.order.Back().Value.(*cacheEntry).key)
	}
}

func (c *responseCache) delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key)
}

func (c *responseCache) remove(key string) {
	if el, ok := c.items[key]; ok {
		e := c.order.Remove(el).(*cacheEntry)
		delete(c.items, key)
		c.bytes -= int64(len(e.key) + len(e.val))
	}
}
