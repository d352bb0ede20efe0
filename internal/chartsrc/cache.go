package chartsrc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// cache keeps fetched chart archives on disk, named by chart, version and
// digest (blobs/), and which archive a reference resolved to (refs/), so
// that a chart version is downloaded once per replica and a second plan
// makes no request at all. It stays under a size bound by dropping the
// archives used least recently, except those used in the last minInUse: a
// render may be about to open one.
type cache struct {
	dir     string
	maxSize int64
	mu      sync.Mutex // one eviction at a time
}

// minInUse is how long an archive is kept after its last use even past the
// size bound: longer than a render takes to open it.
const minInUse = 10 * time.Minute

func newCache(dir string, maxSize int64) (*cache, error) {
	for _, sub := range []string{"blobs", "refs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("chart cache %s: %w", dir, err)
		}
	}
	return &cache{dir: dir, maxSize: maxSize}, nil
}

// refKey names what a reference resolves to: a hash, so that no part of a
// reference becomes a path.
func refKey(repo, name, version string) string {
	h := sha256.Sum256([]byte(repo + "\x00" + name + "\x00" + version))
	return hex.EncodeToString(h[:])
}

// lookup returns the archive repo/name/version resolved to before, after
// checking it still holds what its name says.
func (c *cache) lookup(repo, name, version string) (Chart, bool) {
	b, err := os.ReadFile(filepath.Join(c.dir, "refs", refKey(repo, name, version)))
	if err != nil {
		return Chart{}, false
	}
	blob := strings.TrimSpace(string(b))
	if blob != filepath.Base(blob) || !strings.HasSuffix(blob, ".tgz") {
		return Chart{}, false
	}
	p := filepath.Join(c.dir, "blobs", blob)
	data, err := os.ReadFile(p)
	if err != nil {
		return Chart{}, false
	}
	digest := sha256Digest(data)
	if !strings.HasSuffix(strings.TrimSuffix(blob, ".tgz"), "-"+strings.TrimPrefix(digest, "sha256:")) {
		return Chart{}, false // damaged on disk: fetch it again
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // recently used: evicted last
	return Chart{Path: p, Digest: digest}, true
}

// store writes an archive and the reference's resolution, each atomically
// (a temporary file renamed), so that a crash or another replica sharing
// the directory never sees half a file; then keeps the cache to its bound.
func (c *cache) store(repo, name, version string, data []byte) (Chart, error) {
	digest := sha256Digest(data)
	blob := fmt.Sprintf("%s-%s-%s.tgz", safeName(name), safeName(version), strings.TrimPrefix(digest, "sha256:"))
	p := filepath.Join(c.dir, "blobs", blob)
	if err := c.writeAtomic(p, data); err != nil {
		return Chart{}, err
	}
	if err := c.writeAtomic(filepath.Join(c.dir, "refs", refKey(repo, name, version)), []byte(blob)); err != nil {
		return Chart{}, err
	}
	c.evict()
	return Chart{Path: p, Digest: digest}, nil
}

func (c *cache) writeAtomic(p string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "fetch-*")
	if err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("chart cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	return nil
}

// evict drops the least recently used archives until the cache is within
// its bound (what is in use stays). A reference whose archive is gone is
// fetched again.
func (c *cache) evict() {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries, err := os.ReadDir(filepath.Join(c.dir, "blobs"))
	if err != nil {
		return
	}
	type blob struct {
		path string
		size int64
		used time.Time
	}
	var blobs []blob
	var total int64
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		blobs = append(blobs, blob{filepath.Join(c.dir, "blobs", e.Name()), fi.Size(), fi.ModTime()})
		total += fi.Size()
	}
	slices.SortFunc(blobs, func(a, b blob) int { return a.used.Compare(b.used) })
	for _, b := range blobs {
		if total <= c.maxSize {
			return
		}
		if time.Since(b.used) < minInUse {
			return // the rest are newer still
		}
		if err := os.Remove(b.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			total -= b.size
		}
	}
}

func sha256Digest(data []byte) string {
	h := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(h[:])
}

// safeName keeps a chart name or version usable as part of a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '+':
			return r
		}
		return '_'
	}, s)
}
