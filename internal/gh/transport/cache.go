package transport

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"
)

// DefaultCacheBytes bounds the memory all clients' HTTP caches share.
const DefaultCacheBytes = 64 << 20

// conditional revalidates GitHub answers it has seen: a GET it has an
// answer for goes out with If-None-Match (and If-Modified-Since), and a
// 304 is answered from the cache. GitHub does not count a 304 against the
// rate limit.
//
// GitHub's ETag hashes the request's Accept and Authorization headers
// with the body, so an installation token's hourly rotation would turn
// every cached ETag stale. The cache therefore keys answers by method,
// URL and Accept, not by token, and asks with both the ETag GitHub gave
// and the one GitHub computes for the current token over the cached body.
// A 304 to the current token's request means GitHub vouches that this
// token sees exactly the cached body. Answers stay in the installation's
// own part of the cache (scope): no installation reads another's.
//
// It sits below the transport that adds the token, so it sees the
// Authorization header it hashes. (gregjones/httpcache, which
// go-githubapp offers, keys by URL alone and resends only the stored
// ETag; it is also unmaintained.)
type conditional struct {
	next  http.RoundTripper
	cache *responseCache
	scope string
}

func (c conditional) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("Range") != "" ||
		req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "" {
		return c.next.RoundTrip(req)
	}
	key := c.key(req)
	cached, ok := c.cache.get(key)
	if ok {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", strings.Join(cached.validators(req.Header), ", "))
		if cached.lastModified != "" {
			req.Header.Set("If-Modified-Since", cached.lastModified)
		}
	}
	res, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case ok && res.StatusCode == http.StatusNotModified:
		return cached.answer(req, res), nil
	case res.StatusCode == http.StatusOK && (res.Header.Get("ETag") != "" || res.Header.Get("Last-Modified") != ""):
		return c.store(key, res)
	}
	return res, nil
}

// key is the cache key of req: its scope, method, URL and media type.
func (c conditional) key(req *http.Request) string {
	return c.scope + " " + req.Method + " " + req.URL.String() + " " + req.Header.Get("Accept")
}

// store reads res's body into the cache, unless it is larger than one
// entry may be; either way res goes on with its body whole.
func (c conditional) store(key string, res *http.Response) (*http.Response, error) {
	limit := c.cache.maxEntry()
	if res.ContentLength > limit {
		return res, nil
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		res.Body.Close()
		return nil, err
	}
	if int64(len(body)) > limit {
		res.Body = readCloser{io.MultiReader(bytes.NewReader(body), res.Body), res.Body}
		return res, nil
	}
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	c.cache.set(key, &cachedAnswer{
		header: res.Header.Clone(), body: body,
		etag: res.Header.Get("ETag"), lastModified: res.Header.Get("Last-Modified"),
	})
	return res, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// cachedAnswer is a 200 answer kept for revalidation.
type cachedAnswer struct {
	header       http.Header
	body         []byte
	etag         string
	lastModified string
}

func (a *cachedAnswer) size() int64 {
	n := len(a.body) + len(a.etag) + len(a.lastModified)
	for k, vs := range a.header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return int64(n)
}

// validators are the ETags to revalidate a with: the one GitHub gave, and
// the one GitHub gives the same body for the request's own headers, in the
// stored tag's strength.
func (a *cachedAnswer) validators(req http.Header) []string {
	var tags []string
	if a.etag != "" {
		tags = append(tags, a.etag)
	}
	h := sha256.New()
	for _, name := range []string{"Accept", "Authorization", "Cookie"} {
		if v := req.Get(name); v != "" {
			h.Write([]byte(v + ":"))
		}
	}
	h.Write(a.body)
	tag := `"` + hex.EncodeToString(h.Sum(nil)) + `"`
	if a.etag == "" || strings.HasPrefix(a.etag, "W/") {
		tag = "W/" + tag
	}
	if tag != a.etag {
		tags = append(tags, tag)
	}
	return tags
}

// answer is the cached body with the 304's headers (rate limits, request
// id) over the stored ones, marked as served from the cache.
func (a *cachedAnswer) answer(req *http.Request, notModified *http.Response) *http.Response {
	_, _ = io.Copy(io.Discard, io.LimitReader(notModified.Body, 1<<16))
	notModified.Body.Close()
	h := a.header.Clone()
	for k, vs := range notModified.Header {
		h[k] = vs
	}
	h.Set("X-From-Cache", "1")
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK,
		Proto: notModified.Proto, ProtoMajor: notModified.ProtoMajor, ProtoMinor: notModified.ProtoMinor,
		Header: h, Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)),
		Request: req, TLS: notModified.TLS,
	}
}

// responseCache is a least-recently-used cache of GitHub answers, bounded
// in bytes, shared by every client.
type responseCache struct {
	maxBytes int64

	mu    sync.Mutex
	bytes int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	val *cachedAnswer
}

func newResponseCache(maxBytes int64) *responseCache {
	return &responseCache{maxBytes: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

// maxEntry is the largest answer kept: one may not take more than an
// eighth of the budget, or a huge listing would push out everything else.
func (c *responseCache) maxEntry() int64 { return c.maxBytes / 8 }

func (c *responseCache) get(key string) (*cachedAnswer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).val, true
}

func (c *responseCache) set(key string, val *cachedAnswer) {
	size := int64(len(key)) + val.size()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key)
	if size > c.maxEntry() {
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
		c.bytes -= int64(len(e.key)) + e.val.size()
	}
}
