package transport

import (
	"strings"
	"testing"
)

func TestResponseCacheStaysWithinItsBudget(t *testing.T) {
	c := newResponseCache(800)
	a, b := c.forClient(), c.forClient()
	a.Set("/pulls/1", []byte(strings.Repeat("a", 50)))
	if _, ok := b.Get("/pulls/1"); ok {
		t.Fatal("one client sees another's answer")
	}
	for i, key := range []string{"/x", "/y", "/z"} {
		b.Set(key, []byte(strings.Repeat("b", 90+i)))
	}
	if _, ok := a.Get("/pulls/1"); !ok {
		t.Fatal("evicted while the budget allowed it")
	}
	b.Set("/huge", []byte(strings.Repeat("h", 200)))
	if _, ok := b.Get("/huge"); ok {
		t.Error("an answer over an eighth of the budget was kept")
	}
	// Fill past the budget: the least recently used go first; /pulls/1 was
	// just read, so /x is the oldest.
	for i := range 6 {
		a.Set(strings.Repeat("k", i+1), []byte(strings.Repeat("c", 90)))
	}
	if _, ok := b.Get("/x"); ok {
		t.Error("the least recently used answer survived")
	}
	if c.bytes > c.maxBytes {
		t.Errorf("%d bytes cached, budget %d", c.bytes, c.maxBytes)
	}
	a.Delete("/pulls/1")
	if _, ok := a.Get("/pulls/1"); ok {
		t.Error("deleted answer still cached")
	}
}
