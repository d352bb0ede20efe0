package bench

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// tally counts requests by a label, safely from many goroutines, and
// notes when the first and the last of each label came.
type tally struct {
	mu          sync.Mutex
	counts      map[string]int
	first, last map[string]time.Time
}

func (t *tally) add(label string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts, t.first, t.last = map[string]int{}, map[string]time.Time{}, map[string]time.Time{}
	}
	if t.counts[label] == 0 {
		t.first[label] = now
	}
	t.counts[label]++
	t.last[label] = now
}

// total is how many requests were counted so far.
func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.counts {
		n += c
	}
	return n
}

// take returns the counts so far, with each label's span after start, and
// starts again from zero.
func (t *tally) take(start time.Time) (map[string]int, map[string]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	spans := map[string]string{}
	for l := range t.counts {
		spans[l] = span(t.first[l].Sub(start), t.last[l].Sub(start))
	}
	out := t.counts
	t.counts = nil
	return out, spans
}

func span(first, last time.Duration) string {
	return fmt.Sprintf("%.2fs … %.2fs", first.Seconds(), last.Seconds())
}

// countingTransport is an http.RoundTripper that counts each request by its
// Kubernetes verb before passing it on.
type countingTransport struct {
	next  http.RoundTripper
	verbs *tally
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.verbs.add(kubeVerb(r))
	return c.next.RoundTrip(r)
}

// kubeProxy is a TLS (HTTP/2, like the API server) reverse proxy in front of
// the test cluster's API server that counts every request passing through.
// slipway runs as its own process, so its client cannot be wrapped
// directly; its kubeconfig points here instead, carrying the same token.
type kubeProxy struct {
	verbs      tally
	kubeconfig string // a kubeconfig file for the proxy
}

func startKubeProxy(b *testing.B, env *testenv.Env) *kubeProxy {
	b.Helper()
	cfg := env.Config()
	upstream, err := url.Parse(cfg.Host)
	if err != nil {
		b.Fatal(err)
	}
	// Only the API server's CA: the caller's Authorization header passes
	// through, so slipway acts as whoever its kubeconfig says.
	tr, err := rest.TransportFor(&rest.Config{Host: cfg.Host, TLSClientConfig: rest.TLSClientConfig{CAData: cfg.CAData}})
	if err != nil {
		b.Fatal(err)
	}
	p := &kubeProxy{}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.Transport = countingTransport{next: tr, verbs: &p.verbs}
	rp.FlushInterval = -1 // watches stream
	srv := httptest.NewUnstartedServer(rp)
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	srv.StartTLS()
	b.Cleanup(srv.Close)

	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: counted
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: counted
  user:
    token: %s
contexts:
- name: counted
  context: {cluster: counted, user: counted}
current-context: counted
`, srv.URL, base64.StdEncoding.EncodeToString(ca), cfg.BearerToken)
	p.kubeconfig = writeFile(b, b.TempDir(), "kubeconfig", kc)
	return p
}

// kubeVerb names a request as the API server's audit log would: get, list,
// watch, create, update, patch, apply, delete, deletecollection, with
// " (dry-run)" for dry runs, or "discovery" for the group and version
// documents and the OpenAPI schema.
func kubeVerb(r *http.Request) string {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var rest []string
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		rest = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		rest = segs[3:]
	}
	if len(rest) == 0 {
		return "discovery"
	}
	if rest[0] == "namespaces" && len(rest) >= 3 {
		rest = rest[2:] // a namespaced resource; else the namespaces themselves
	}
	named := len(rest) >= 2
	q := r.URL.Query()
	var verb string
	switch r.Method {
	case http.MethodGet:
		switch {
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/apply-patch") {
			verb = "apply"
		}
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(r.Method)
	}
	if q.Has("dryRun") {
		verb += " (dry-run)"
	}
	return verb
}

var (
	shaSegment    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	numberSegment = regexp.MustCompile(`^[0-9]+$`)
)

// githubKinds counts the recorded GitHub requests by endpoint kind: the
// method and the path with the repository, numbers and commit SHAs left
// out ("PATCH /repos/{repo}/check-runs/{n}"). Each kind also gets when,
// after start, its first and last request came: the phases of the work.
func githubKinds(reqs []githubsim.Request, start time.Time) (map[string]int, map[string]string) {
	counts := map[string]int{}
	first, last := map[string]time.Duration{}, map[string]time.Duration{}
	for _, r := range reqs {
		segs := strings.Split(strings.Trim(strings.TrimPrefix(r.Path, "/api/v3"), "/"), "/")
		switch {
		case len(segs) >= 3 && segs[0] == "repos":
			segs = append([]string{"repos", "{repo}"}, segs[3:]...)
		case len(segs) >= 2 && segs[0] == "_codeload":
			segs = []string{"_codeload", "{archive}"} // a tarball redirect's target
		}
		for i, s := range segs {
			switch {
			case numberSegment.MatchString(s):
				segs[i] = "{n}"
			case shaSegment.MatchString(s):
				segs[i] = "{sha}"
			}
		}
		kind := r.Method + " /" + strings.Join(segs, "/")
		at := r.Time.Sub(start)
		if _, ok := first[kind]; !ok {
			first[kind] = at
		}
		counts[kind]++
		last[kind] = at
	}
	spans := map[string]string{}
	for kind := range counts {
		spans[kind] = span(first[kind], last[kind])
	}
	return counts, spans
}

// table formats counts as "count label" lines, largest first, each with its
// note if it has one, and their total.
func table(counts map[string]int, notes map[string]string) (string, int) {
	labels := make([]string, 0, len(counts))
	total := 0
	for l, n := range counts {
		labels = append(labels, l)
		total += n
	}
	slices.SortFunc(labels, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(a, b)
	})
	var sb strings.Builder
	for _, l := range labels {
		fmt.Fprintf(&sb, "    %6d  %-50s %s\n", counts[l], l, notes[l])
	}
	return sb.String(), total
}

func TestKubeVerb(t *testing.T) {
	for _, tt := range []struct {
		method, target, contentType, want string
	}{
		{"GET", "/api", "", "discovery"},
		{"GET", "/apis/apps/v1", "", "discovery"},
		{"GET", "/openapi/v3", "", "discovery"},
		{"GET", "/api/v1/namespaces", "", "list"},
		{"GET", "/api/v1/namespaces/shop", "", "get"},
		{"GET", "/api/v1/namespaces/shop/configmaps?labelSelector=a%3Db&limit=500", "", "list"},
		{"GET", "/api/v1/namespaces/shop/configmaps?watch=true", "", "watch"},
		{"GET", "/apis/apps/v1/namespaces/shop/deployments/web", "", "get"},
		{"GET", "/apis/apps/v1/deployments", "", "list"},
		{"POST", "/api/v1/namespaces/shop/configmaps", "application/json", "create"},
		{"PUT", "/apis/apps/v1/namespaces/shop/deployments/web/scale", "application/json", "update"},
		{"PATCH", "/apis/apps/v1/namespaces/shop/deployments/web?dryRun=All&fieldManager=slipway&force=true", "application/apply-patch+yaml", "apply (dry-run)"},
		{"PATCH", "/api/v1/namespaces/shop/configmaps/c?fieldManager=slipway", "application/apply-patch+yaml", "apply"},
		{"PATCH", "/api/v1/namespaces/shop/configmaps/c", "application/merge-patch+json", "patch"},
		{"DELETE", "/api/v1/namespaces/shop/configmaps/c", "", "delete"},
		{"DELETE", "/api/v1/namespaces/shop/configmaps?labelSelector=x", "", "deletecollection"},
	} {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if tt.contentType != "" {
			r.Header.Set("Content-Type", tt.contentType)
		}
		if got := kubeVerb(r); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.target, got, tt.want)
		}
	}
}

func TestGitHubKinds(t *testing.T) {
	start := time.Now()
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	got, spans := githubKinds([]githubsim.Request{
		{Method: "POST", Path: "/api/v3/repos/acme/shop/check-runs", Time: at(100)},
		{Method: "PATCH", Path: "/api/v3/repos/acme/shop/check-runs/17", Time: at(1000)},
		{Method: "PATCH", Path: "/api/v3/repos/acme/shop/check-runs/18", Time: at(2500)},
		{Method: "GET", Path: "/api/v3/repos/acme/shop/tarball/0123456789abcdef0123456789abcdef01234567", Time: at(10)},
		{Method: "GET", Path: "/_codeload/1e4238520efb2a48edac45754e572dc5/acme-shop-83f1073.tar.gz", Time: at(20)},
		{Method: "POST", Path: "/api/v3/app/installations/3/access_tokens", Time: at(0)},
	}, start)
	want := map[string]int{
		"POST /repos/{repo}/check-runs":             1,
		"PATCH /repos/{repo}/check-runs/{n}":        2,
		"GET /repos/{repo}/tarball/{sha}":           1,
		"POST /app/installations/{n}/access_tokens": 1,
		"GET /_codeload/{archive}":                  1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("githubKinds = %v, want %v", got, want)
	}
	if span := spans["PATCH /repos/{repo}/check-runs/{n}"]; span != "1.00s … 2.50s" {
		t.Errorf("span of the check run updates = %q, want 1.00s … 2.50s", span)
	}
}
