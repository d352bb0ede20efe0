// Package chartsrc fetches Helm charts from the sources the server config
// allows (helm.repositories: HTTP chart repositories and OCI registries)
// into a size-bounded disk cache.
//
// A pull request names charts (an environment's helm.chart, a Chart.yaml's
// dependencies), but never where slipway connects: a source outside the
// allow-list is refused before any request, and every request a fetch
// makes (redirects, chart URLs an index.yaml names, a registry's token
// service) must go to an allowed host. Credentials come from the server
// config only and go only to their entry's host. Fetching runs in the
// server process, not in the render child: the credentials stay out of the
// process that runs templates, and one cache serves the replica. It is
// bounded as the render is: by the render's deadline (the caller's
// context) and by a cap on every response body.
package chartsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"helm.sh/helm/v3/pkg/repo"
)

// Config keys messages name.
const (
	AllowListKey   = "helm.repositories"
	MaxDownloadKey = "helm.max_download"
)

// Defaults of the server config.
const (
	// DefaultMaxCacheSize holds hundreds of typical charts and fits the
	// deployment's /tmp (deploy/: 1Gi) beside the checkouts.
	DefaultMaxCacheSize = 256 << 20
	DefaultMaxDownload  = 32 << 20
)

// DefaultCacheDir is where charts are cached when the config names no
// directory.
func DefaultCacheDir() string { return filepath.Join(os.TempDir(), "slipway-charts") }

// Source is one entry of the allow-list.
type Source struct {
	// URL is an HTTP chart repository (https://charts.example.com) or an
	// OCI registry path (oci://registry.example.com/charts); charts at or
	// below it may be fetched.
	URL      string
	Username string
	Password string
	// PasswordFile, when set, is read at each fetch instead of Password.
	PasswordFile string
	// PlainHTTP speaks to an oci:// registry over http, without TLS.
	PlainHTTP bool
	// Repos are the GitHub repositories (owner/name, path.Match patterns
	// such as owner/*, any case) whose renders may fetch from it; none:
	// every repository's.
	Repos []string
}

// Options configure a Fetcher.
type Options struct {
	Sources      []Source
	CacheDir     string // default DefaultCacheDir()
	MaxCacheSize int64  // default DefaultMaxCacheSize
	MaxDownload  int64  // cap on each response body; default DefaultMaxDownload
	// Transport is where allowed requests go; nil: a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Chart is a fetched chart archive.
type Chart struct {
	Path   string // the archive, in the cache
	Digest string // sha256:… of the archive
}

// Fetcher fetches charts from the allow-list. It is safe for concurrent
// use; concurrent fetches of one chart make one download.
type Fetcher struct {
	sources     []*source
	cache       *cache
	maxDownload int64
	transport   http.RoundTripper
	flight      singleflight.Group
}

// New checks the allow-list and opens the cache.
func New(opts Options) (*Fetcher, error) {
	f := &Fetcher{maxDownload: opts.MaxDownload, transport: opts.Transport}
	for _, s := range opts.Sources {
		src, err := parseSource(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", AllowListKey, err)
		}
		f.sources = append(f.sources, src)
	}
	if f.maxDownload <= 0 {
		f.maxDownload = DefaultMaxDownload
	}
	if f.transport == nil {
		f.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if len(f.sources) == 0 {
		return f, nil // nothing can be fetched: no cache to keep
	}
	dir, size := opts.CacheDir, opts.MaxCacheSize
	if dir == "" {
		dir = DefaultCacheDir()
	}
	if size <= 0 {
		size = DefaultMaxCacheSize
	}
	c, err := newCache(dir, size)
	if err != nil {
		return nil, err
	}
	f.cache = c
	return f, nil
}

// Fetch is FetchFor a render of no known repository: only the entries
// open to every repository serve it.
func (f *Fetcher) Fetch(ctx context.Context, repoURL, name, version string) (Chart, error) {
	return f.FetchFor(ctx, "", repoURL, name, version)
}

// FetchFor returns chart name at exactly version from the repository or
// registry path repo, for a render of GitHub repository requester: from
// the cache, or downloaded once. A repo outside the allow-list, or only
// under entries not open to requester (Source.Repos), is a *RefusedError
// and nothing is fetched; any other failure names the source and why.
//
// The cache is kept per entry: a chart one repository fetched with an
// entry's credentials is not served to a repository that entry is not
// open to.
func (f *Fetcher) FetchFor(ctx context.Context, requester, repoURL, name, version string) (Chart, error) {
	entry, u, err := f.lookup(repoURL, requester)
	if err != nil {
		return Chart{}, err
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\?#%:@ ") {
		return Chart{}, fmt.Errorf("chart name %q is not a bare chart name", name)
	}
	key := strings.TrimSuffix(u.String(), "/")
	cached := key
	if len(entry.Repos) > 0 {
		// Its own cache entries: the entry's credentials fetched them.
		cached = strings.TrimSuffix(entry.URL, "/") + " " + key
	}
	if c, ok := f.cache.lookup(cached, name, version); ok {
		return c, nil
	}
	// The download is shared by whoever asks meanwhile, so it must not end
	// with the first asker's cancellation; it keeps that asker's deadline.
	ch := f.flight.DoChan(cached+"\x00"+name+"\x00"+version, func() (any, error) {
		shared, cancel := detached(ctx)
		defer cancel()
		if c, ok := f.cache.lookup(cached, name, version); ok {
			return c, nil
		}
		data, err := f.download(shared, entry, key, name, version)
		if err != nil {
			return nil, err
		}
		return f.cache.store(cached, name, version, data)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Chart{}, fmt.Errorf("fetch chart %s %s from %s: %w", name, version, key, r.Err)
		}
		return r.Val.(Chart), nil
	case <-ctx.Done():
		return Chart{}, fmt.Errorf("fetch chart %s %s from %s: %w", name, version, key, context.Cause(ctx))
	}
}

func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(ctx)
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(base, d)
	}
	return context.WithTimeout(base, fetchTimeoutFallback)
}

func (f *Fetcher) download(ctx context.Context, entry *source, repoURL, name, version string) ([]byte, error) {
	if entry.scheme == "oci" {
		return f.pullOCI(ctx, entry, repoURL, name, version)
	}
	return f.getFromRepo(ctx, entry, repoURL, name, version)
}

// client is the HTTP client of one fetch: every request, redirects
// included, goes through the guard.
func (f *Fetcher) client(ctx context.Context, entry *source, basic bool) *http.Client {
	return &http.Client{Transport: &guard{f: f, entry: entry, basic: basic, ctx: ctx, next: f.transport}}
}

// getFromRepo finds the chart in the repository's index.yaml and downloads
// the archive it names, checking the digest the index gives.
func (f *Fetcher) getFromRepo(ctx context.Context, entry *source, repoURL, name, version string) ([]byte, error) {
	hc := f.client(ctx, entry, true)
	index, err := get(ctx, hc, repoURL+"/index.yaml")
	if err != nil {
		return nil, err
	}
	cv, err := findInIndex(index, f.cache, name, version)
	if err != nil {
		return nil, fmt.Errorf("%s/index.yaml: %w", repoURL, err)
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("%s/index.yaml lists %s %s without a URL", repoURL, name, version)
	}
	chartURL, err := repo.ResolveReferenceURL(repoURL, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("%s/index.yaml: %w", repoURL, err)
	}
	if !strings.HasPrefix(chartURL, "https://") && !strings.HasPrefix(chartURL, "http://") {
		return nil, fmt.Errorf("%s/index.yaml gives %s for %s %s: only http(s) chart URLs are fetched", repoURL, chartURL, name, version)
	}
	data, err := get(ctx, hc, chartURL)
	if err != nil {
		return nil, err
	}
	if want := cv.Digest; want != "" {
		if got := strings.TrimPrefix(sha256Digest(data), "sha256:"); !strings.EqualFold(strings.TrimPrefix(want, "sha256:"), got) {
			return nil, fmt.Errorf("%s has sha256 %s, but %s/index.yaml says %s: the archive is not the one the repository lists", chartURL, got, repoURL, want)
		}
	}
	return data, nil
}

// findInIndex reads an index.yaml with helm's loader (which takes a file)
// and returns exactly version of name.
func findInIndex(index []byte, c *cache, name, version string) (*repo.ChartVersion, error) {
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "index-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(index)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		return nil, err
	}
	idx, err := repo.LoadIndexFile(tmp.Name())
	if err != nil {
		return nil, fmt.Errorf("not a chart repository index: %w", errors.New(strings.ReplaceAll(err.Error(), tmp.Name(), "index.yaml")))
	}
	for _, cv := range idx.Entries[name] {
		if cv.Version == version {
			return cv, nil
		}
	}
	if len(idx.Entries[name]) == 0 {
		return nil, fmt.Errorf("no chart named %s", name)
	}
	return nil, fmt.Errorf("chart %s has no version %s", name, version)
}

// get reads url whole; the guard bounds its size.
func get(ctx context.Context, hc *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	return buf.Bytes(), nil
}

// fetchTimeoutFallback bounds a fetch whose caller set no deadline.
const fetchTimeoutFallback = 2 * time.Minute
