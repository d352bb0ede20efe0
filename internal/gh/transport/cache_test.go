package transport

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

func cached(body string) *cachedAnswer {
	return &cachedAnswer{header: http.Header{}, body: []byte(body), etag: `W/"x"`}
}

func TestResponseCacheStaysWithinItsBudget(t *testing.T) {
	c := newResponseCache(1600)
	c.set("a /pulls/1", cached(strings.Repeat("a", 50)))
	if _, ok := c.get("b /pulls/1"); ok {
		t.Fatal("one scope sees another's answer")
	}
	for i, key := range []string{"b /x", "b /y", "b /z"} {
		c.set(key, cached(strings.Repeat("b", 180+i)))
	}
	if _, ok := c.get("a /pulls/1"); !ok {
		t.Fatal("evicted while the budget allowed it")
	}
	c.set("b /huge", cached(strings.Repeat("h", 200)))
	if _, ok := c.get("b /huge"); ok {
		t.Error("an answer over an eighth of the budget was kept")
	}
	// Fill past the budget: the least recently used go first; /pulls/1 was
	// just read, so /x is the oldest.
	for i := range 6 {
		c.set("a "+strings.Repeat("k", i+1), cached(strings.Repeat("c", 180)))
	}
	if _, ok := c.get("b /x"); ok {
		t.Error("the least recently used answer survived")
	}
	if c.bytes > c.maxBytes {
		t.Errorf("%d bytes cached, budget %d", c.bytes, c.maxBytes)
	}
	c.delete("a /pulls/1")
	if _, ok := c.get("a /pulls/1"); ok {
		t.Error("deleted answer still cached")
	}
}

// The cache keys by media type as well as URL, keeps each scope's answers
// to itself, serves a 304 with the 304's own headers, and passes on an
// answer too large to keep whole.
func TestConditionalTransport(t *testing.T) {
	var big atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := "answer for " + r.Header.Get("Accept")
		if big.Load() {
			body = strings.Repeat("z", 5000)
		}
		etag := githubsim.ETag(r.Header, []byte(body))
		w.Header().Set("ETag", etag)
		w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(len(r.Header.Get("If-None-Match"))))
		for _, cand := range strings.Split(r.Header.Get("If-None-Match"), ", ") {
			if cand == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	cache := newResponseCache(8000)
	get := func(scope, accept, token string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/repos/acme/shop", nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Authorization", "token "+token)
		res, err := conditional{next: http.DefaultTransport, cache: cache, scope: scope}.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(body)
	}
	if res, body := get("1", "application/json", "t1"); res.Header.Get("X-From-Cache") != "" || body != "answer for application/json" {
		t.Fatalf("first read: %q from cache %q", body, res.Header.Get("X-From-Cache"))
	}
	res, body := get("1", "application/json", "t2")
	if res.StatusCode != http.StatusOK || res.Header.Get("X-From-Cache") == "" || body != "answer for application/json" {
		t.Errorf("after rotation: %d %q from cache %q, want the cached body", res.StatusCode, body, res.Header.Get("X-From-Cache"))
	}
	if res.Header.Get("X-RateLimit-Remaining") == "0" {
		t.Error("the 304's headers were not passed on")
	}
	if res, body := get("1", "application/vnd.github.raw", "t2"); res.Header.Get("X-From-Cache") != "" || body != "answer for application/vnd.github.raw" {
		t.Errorf("another media type: %q from cache %q", body, res.Header.Get("X-From-Cache"))
	}
	if res, _ := get("2", "application/json", "t2"); res.Header.Get("X-From-Cache") != "" {
		t.Error("another installation was served this one's answer")
	}
	big.Store(true)
	if _, body := get("3", "application/json", "t"); len(body) != 5000 {
		t.Errorf("a large answer came through as %d bytes", len(body))
	}
	if _, ok := cache.get("3 GET " + srv.URL + "/repos/acme/shop application/json"); ok {
		t.Error("an answer over the entry limit was cached")
	}
}
