package chartsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
)

// source is an allow-list entry, parsed.
type source struct {
	Source
	scheme string // oci, https or http
	host   string // host[:port], lower case
	path   string // without a trailing slash
}

// CheckSource returns what is wrong with an allow-list entry's URL, for
// the config to report at its line.
func CheckSource(s Source) error {
	_, err := parseSource(s)
	return err
}

func parseSource(s Source) (*source, error) {
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must be an https://, http:// or oci:// URL without credentials, query or fragment", s.URL)
	}
	switch u.Scheme {
	case "oci", "https", "http":
	default:
		return nil, fmt.Errorf("%q must be an https://, http:// or oci:// URL", s.URL)
	}
	if s.PlainHTTP && u.Scheme != "oci" {
		return nil, fmt.Errorf("%q: plain_http is for oci:// registries; write http:// for a chart repository without TLS", s.URL)
	}
	return &source{Source: s, scheme: u.Scheme, host: strings.ToLower(u.Host), path: strings.TrimSuffix(u.Path, "/")}, nil
}

// covers reports whether the chart repository or registry path repo lies
// at or below the entry: the same scheme and host, and a path that is the
// entry's or below it, segment by segment ("/charts" covers
// "/charts/team", never "/charts-evil").
func (s *source) covers(repo *url.URL) bool {
	if repo.Scheme != s.scheme || strings.ToLower(repo.Host) != s.host {
		return false
	}
	p := strings.TrimSuffix(repo.Path, "/")
	return p == s.path || strings.HasPrefix(p, s.path+"/")
}

// wire is the scheme and host requests for the entry go to: an OCI
// registry is spoken to over https (or http with plain_http).
func (s *source) wire() (scheme, host string) {
	if s.scheme != "oci" {
		return s.scheme, s.host
	}
	if s.PlainHTTP {
		return "http", s.host
	}
	return "https", s.host
}

// password is the entry's password, read from its file at each use so
// that a rotated Secret takes effect without a restart.
func (s *source) password() (string, error) {
	if s.PasswordFile == "" {
		return s.Password, nil
	}
	b, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		// The path is the operator's, not a secret; the content never shows.
		return "", fmt.Errorf("read the password file of %s: %w", s.URL, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// RefusedError is a chart source outside the allow-list. Nothing was
// fetched.
type RefusedError struct {
	URL     string   // what was asked for
	Allowed []string // the allow-list's URLs
}

func (e *RefusedError) Error() string {
	allowed := "none"
	if len(e.Allowed) > 0 {
		allowed = strings.Join(e.Allowed, ", ")
	}
	return fmt.Sprintf("%s is not a chart source the server config allows (%s: %s); use one of those, or ask whoever runs slipway to add it", e.URL, AllowListKey, allowed)
}

// lookup finds the entry that allows repo, the most specific one first. A
// path that is not plainly itself (dot segments, escapes, empty segments)
// is refused: a server would resolve "/stable/../private" out of the
// entry's path.
func (f *Fetcher) lookup(repo, requester string) (*source, *url.URL, error) {
	u, err := url.Parse(repo)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" || !plainPath(u) {
		return nil, nil, &RefusedError{URL: repo, Allowed: f.allowed(requester)}
	}
	var best *source
	for _, s := range f.sources {
		if s.covers(u) && s.opensTo(requester) && (best == nil || len(s.path) > len(best.path)) {
			best = s
		}
	}
	if best == nil {
		return nil, nil, &RefusedError{URL: repo, Allowed: f.allowed(requester)}
	}
	return best, u, nil
}

// opensTo reports whether renders of GitHub repository requester may fetch
// from s: every repository's when s names none, else only those it names
// ("" is no repository, and matches no pattern).
func (s *source) opensTo(requester string) bool {
	if len(s.Repos) == 0 {
		return true
	}
	for _, pattern := range s.Repos {
		if ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(requester)); ok && requester != "" {
			return true
		}
	}
	return false
}

func plainPath(u *url.URL) bool {
	if u.RawPath != "" {
		return false // percent-escapes in the path
	}
	p := strings.TrimSuffix(u.Path, "/")
	if p == "" {
		return true
	}
	for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return strings.HasPrefix(p, "/")
}

// allowed are the entries open to requester, which a refusal lists: the
// others are no business of its repository's.
func (f *Fetcher) allowed(requester string) []string {
	var out []string
	for _, s := range f.sources {
		if s.opensTo(requester) {
			out = append(out, s.URL)
		}
	}
	return out
}

// errOffList is a request, made by a library on slipway's behalf (a
// redirect, a chart URL an index names, a registry's token service), to a
// host no entry names.
var errOffList = errors.New("is on no host of " + AllowListKey)

// guard is the transport of one fetch. It lets through only requests to
// the hosts of the allow-list (a redirect or an index.yaml cannot send
// slipway elsewhere), adds the fetch's credentials only to requests to the
// entry's own host, bounds every response body, and ties every request to
// the fetch's context (helm's registry client makes its own).
type guard struct {
	f     *Fetcher
	entry *source
	basic bool // set basic auth here (HTTP repositories; oras does its own for OCI)
	ctx   context.Context
	next  http.RoundTripper
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if !g.f.onList(req.URL) {
		return nil, fmt.Errorf("request to %s://%s refused: it %w (redirects, chart URLs and token services must be on an allowed host too)", req.URL.Scheme, req.URL.Host, errOffList)
	}
	out := req.Clone(g.ctx)
	scheme, host := g.entry.wire()
	if g.basic && g.entry.Username != "" && req.URL.Scheme == scheme && strings.EqualFold(req.URL.Host, host) {
		pw, err := g.entry.password()
		if err != nil {
			return nil, err
		}
		out.SetBasicAuth(g.entry.Username, pw)
	}
	resp, err := g.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > g.f.maxDownload {
		resp.Body.Close()
		return nil, &tooLargeError{url: req.URL.Redacted(), max: g.f.maxDownload}
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: g.f.maxDownload, url: req.URL.Redacted(), max: g.f.maxDownload}
	return resp, nil
}

// onList reports whether u goes to a host an entry names, over the scheme
// that entry is spoken to with.
func (f *Fetcher) onList(u *url.URL) bool {
	for _, s := range f.sources {
		scheme, host := s.wire()
		if u.Scheme == scheme && strings.EqualFold(u.Host, host) {
			return true
		}
	}
	return false
}

type tooLargeError struct {
	url string
	max int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s (%d bytes)", e.url, MaxDownloadKey, e.max)
}

// cappedBody fails a read past its limit instead of holding more.
type cappedBody struct {
	io.ReadCloser
	left int64
	url  string
	max  int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly max bytes from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, &tooLargeError{url: b.url, max: b.max}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
