package chartsrc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/slipwayhq/slipway/internal/chartsrc/chartsrctest"
)

var web = chartsrctest.Chart{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("web")}

func newFetcher(t *testing.T, sources ...Source) *Fetcher {
	t.Helper()
	f, err := New(Options{Sources: sources, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// loads checks that the fetched archive is the chart asked for.
func loads(t *testing.T, c Chart, name, version string) {
	t.Helper()
	ch, err := loader.Load(c.Path)
	if err != nil {
		t.Fatalf("load %s: %v", c.Path, err)
	}
	if ch.Name() != name || ch.Metadata.Version != version {
		t.Fatalf("fetched %s %s, want %s %s", ch.Name(), ch.Metadata.Version, name, version)
	}
	if !strings.HasPrefix(c.Digest, "sha256:") {
		t.Errorf("digest %q", c.Digest)
	}
}

func TestFetchFromHTTPRepositoryOnce(t *testing.T) {
	r := chartsrctest.NewRepo(t, web)
	f := newFetcher(t, Source{URL: r.URL})
	c, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2")
	if err != nil {
		t.Fatal(err)
	}
	loads(t, c, "web", "1.4.2")
	if n := len(r.Requests()); n != 2 {
		t.Fatalf("first fetch made %d requests %v, want index.yaml and the archive", n, r.Requests())
	}
	again, err := f.Fetch(ctx(t), r.URL+"/", "web", "1.4.2")
	if err != nil || again != c {
		t.Fatalf("second fetch: %+v, %v; want %+v", again, err, c)
	}
	// A restarted replica with the same cache directory does not fetch either.
	f2, err := New(Options{Sources: []Source{{URL: r.URL}}, CacheDir: filepath.Dir(filepath.Dir(c.Path))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f2.Fetch(ctx(t), r.URL, "web", "1.4.2"); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Requests()); n != 2 {
		t.Errorf("cached fetches made requests: %v", r.Requests())
	}
}

func TestFetchFromOCIRegistryOnce(t *testing.T) {
	reg := chartsrctest.NewRegistry(t, web)
	f := newFetcher(t, Source{URL: reg.URL, PlainHTTP: true})
	c, err := f.Fetch(ctx(t), reg.URL, "web", "1.4.2")
	if err != nil {
		t.Fatal(err)
	}
	loads(t, c, "web", "1.4.2")
	if reg.Count("/blobs/") == 0 {
		t.Fatalf("no blob was pulled: %v", reg.Requests())
	}
	before := len(reg.Requests())
	if _, err := f.Fetch(ctx(t), reg.URL, "web", "1.4.2"); err != nil {
		t.Fatal(err)
	}
	if len(reg.Requests()) != before {
		t.Errorf("second fetch made requests: %v", reg.Requests()[before:])
	}
}

func TestConcurrentFetchesDownloadOnce(t *testing.T) {
	r := chartsrctest.NewRepo(t, web)
	f := newFetcher(t, Source{URL: r.URL})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := r.Count(".tgz"); n != 1 {
		t.Errorf("archive downloaded %d times", n)
	}
}

// A source off the allow-list is refused before any request: the servers
// see nothing.
func TestRefusedSourcesAreNeverContacted(t *testing.T) {
	r := chartsrctest.NewRepo(t, web)
	reg := chartsrctest.NewRegistry(t, web)
	f := newFetcher(t, Source{URL: r.URL + "/stable"}, Source{URL: reg.URL + "/team", PlainHTTP: true})
	for _, repoURL := range []string{
		r.URL,                                    // above the allowed path
		r.URL + "/stable-evil",                   // a prefix, not a path below
		strings.Replace(r.URL, "http", "oci", 1), // another scheme
		reg.URL,                                  // the registry above the allowed path
		reg.URL + "/teams",                       // a prefix, not a path below
		"https://" + reg.Host + "/charts/team",   // the registry's host, as an HTTP repository
		"file:///etc",
		r.URL + "/stable/../private",     // out of the path by dot segments
		r.URL + "/stable/%2e%2e/private", // or escaped ones
		r.URL + "/stable//x",
		reg.URL + "/team/../other",
		"http://user:pw@" + strings.TrimPrefix(r.URL, "http://") + "/stable",
	} {
		_, err := f.Fetch(ctx(t), repoURL, "web", "1.4.2")
		var refused *RefusedError
		if !errors.As(err, &refused) {
			t.Errorf("%s: %v, want a refusal", repoURL, err)
			continue
		}
		if !strings.Contains(err.Error(), "helm.repositories: "+r.URL+"/stable, "+reg.URL+"/team") {
			t.Errorf("refusal does not name the allow-list: %v", err)
		}
	}
	if len(r.Requests())+len(reg.Requests()) != 0 {
		t.Errorf("refused sources were contacted: %v %v", r.Requests(), reg.Requests())
	}
}

// An allowed repository's index.yaml cannot send slipway to another host.
func TestIndexPointingElsewhereIsRefused(t *testing.T) {
	other := chartsrctest.NewRepo(t, web)
	r := chartsrctest.NewRepo(t)
	idx := repo.NewIndexFile()
	if err := idx.MustAdd(&chart.Metadata{APIVersion: chart.APIVersionV2, Name: "web", Version: "1.4.2"}, "web-1.4.2.tgz", other.URL+"/charts", ""); err != nil {
		t.Fatal(err)
	}
	r.SetIndex(t, idx)
	f := newFetcher(t, Source{URL: r.URL})
	_, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2")
	if err == nil || !strings.Contains(err.Error(), "fetch chart web 1.4.2 from "+r.URL) || !strings.Contains(err.Error(), "is on no host of helm.repositories") {
		t.Fatalf("error %v", err)
	}
	if len(other.Requests()) != 0 {
		t.Errorf("the other host was contacted: %v", other.Requests())
	}
	// Allowed too, it is fetched.
	f = newFetcher(t, Source{URL: r.URL}, Source{URL: other.URL})
	if _, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2"); err != nil {
		t.Fatal(err)
	}
}

func TestRedirectElsewhereIsRefused(t *testing.T) {
	other := chartsrctest.NewRepo(t, web)
	redirect := httptest.NewServer(http.RedirectHandler(other.URL+"/index.yaml", http.StatusFound))
	t.Cleanup(redirect.Close)
	f := newFetcher(t, Source{URL: redirect.URL})
	_, err := f.Fetch(ctx(t), redirect.URL, "web", "1.4.2")
	if err == nil || !strings.Contains(err.Error(), "is on no host of helm.repositories") {
		t.Fatalf("error %v", err)
	}
	if len(other.Requests()) != 0 {
		t.Errorf("the redirect was followed: %v", other.Requests())
	}
}

// Credentials go to their entry's host only, not to another allowed host
// an index names.
func TestCredentialsStayWithTheirHost(t *testing.T) {
	other := chartsrctest.NewRepo(t, web)
	r := chartsrctest.NewRepo(t)
	r.Password = "s3cret-pw"
	idx := repo.NewIndexFile()
	if err := idx.MustAdd(&chart.Metadata{APIVersion: chart.APIVersionV2, Name: "web", Version: "1.4.2"}, "web-1.4.2.tgz", other.URL+"/charts", ""); err != nil {
		t.Fatal(err)
	}
	r.SetIndex(t, idx)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFetcher(t, Source{URL: r.URL, Username: "bot", PasswordFile: pwFile}, Source{URL: other.URL})
	if _, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2"); err != nil {
		t.Fatal(err)
	}
	if a := r.Auths(); len(a) != 1 || a[0] == "" {
		t.Errorf("the repository got Authorization %q", a)
	}
	if a := other.Auths(); len(a) != 1 || a[0] != "" {
		t.Errorf("the other host got Authorization %q", a)
	}
	// Without the password the repository refuses, and the error says so
	// without the password.
	f = newFetcher(t, Source{URL: r.URL, Username: "bot", Password: "wrong"})
	_, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2")
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v", err)
	}
}

func TestOCICredentials(t *testing.T) {
	reg := chartsrctest.NewRegistry(t, web)
	reg.Password = "reg-pw"
	f := newFetcher(t, Source{URL: reg.URL, PlainHTTP: true, Username: "bot", Password: "reg-pw"})
	if _, err := f.Fetch(ctx(t), reg.URL, "web", "1.4.2"); err != nil {
		t.Fatal(err)
	}
	f = newFetcher(t, Source{URL: reg.URL, PlainHTTP: true})
	if _, err := f.Fetch(ctx(t), reg.URL, "web", "1.4.2"); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Errorf("without credentials: %v", err)
	}
}

func TestFetchFailuresNameTheSource(t *testing.T) {
	r := chartsrctest.NewRepo(t, web)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	tampered := chartsrctest.NewRepo(t, web)
	tampered.Put("/charts/web-1.4.2.tgz", chartsrctest.Package(t, chartsrctest.Chart{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("evil")}))
	tests := []struct {
		name, repo, chart, version string
		max                        int64
		want                       []string
	}{
		{name: "unreachable", repo: deadURL, chart: "web", version: "1.4.2", want: []string{"fetch chart web 1.4.2 from " + deadURL, "connection refused"}},
		{name: "no such chart", repo: r.URL, chart: "api", version: "1.0.0", want: []string{r.URL + "/index.yaml: no chart named api"}},
		{name: "no such version", repo: r.URL, chart: "web", version: "9.9.9", want: []string{"chart web has no version 9.9.9"}},
		{name: "digest mismatch", repo: tampered.URL, chart: "web", version: "1.4.2", want: []string{"but " + tampered.URL + "/index.yaml says", "not the one the repository lists"}},
		{name: "too large", repo: r.URL, chart: "web", version: "1.4.2", max: 100, want: []string{"index.yaml is larger than helm.max_download (100 bytes)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(Options{Sources: []Source{{URL: tt.repo}}, CacheDir: t.TempDir(), MaxDownload: tt.max})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Fetch(ctx(t), tt.repo, tt.chart, tt.version)
			for _, want := range tt.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

func TestCacheStaysWithinItsBound(t *testing.T) {
	charts := []chartsrctest.Chart{web, {Name: "api", Version: "2.0.0", Templates: chartsrctest.ConfigMap("api")}}
	r := chartsrctest.NewRepo(t, charts...)
	dir := t.TempDir()
	f, err := New(Options{Sources: []Source{{URL: r.URL}}, CacheDir: dir, MaxCacheSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	old, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2")
	if err != nil {
		t.Fatal(err)
	}
	// Long unused, so the next store may drop it.
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old.Path, past, past); err != nil {
		t.Fatal(err)
	}
	fresh, err := f.Fetch(ctx(t), r.URL, "api", "2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the least recently used archive is still there: %v", err)
	}
	if _, err := os.Stat(fresh.Path); err != nil {
		t.Errorf("the archive just fetched was dropped: %v", err)
	}
	// Dropped, it is fetched again.
	if _, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2"); err != nil {
		t.Fatal(err)
	}
	if n := r.Count("web-1.4.2.tgz"); n != 2 {
		t.Errorf("web downloaded %d times, want 2", n)
	}
}

func TestAllowListEntriesAreChecked(t *testing.T) {
	for _, s := range []Source{{URL: "ftp://x"}, {URL: "https://u:p@x"}, {URL: "https://x", PlainHTTP: true}, {URL: "x/y"}} {
		if _, err := New(Options{Sources: []Source{s}, CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "helm.repositories") {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

// An entry with repos serves the renders of those repositories only: to
// another (or to a render of no known repository) it is as if unlisted,
// and the refusal does not name it; a chart it fetched with its
// credentials is not served from the cache to a repository it is not open
// to, which falls through to an entry open to it (here: the registry
// without credentials, which refuses).
func TestSourcesOpenToSomeRepositories(t *testing.T) {
	r := chartsrctest.NewRepo(t, web)
	f := newFetcher(t, Source{URL: r.URL, Repos: []string{"acme/payments", "ops/*"}})
	for _, requester := range []string{"acme/payments", "ACME/Payments", "ops/platform"} {
		if _, err := f.FetchFor(ctx(t), requester, r.URL, "web", "1.4.2"); err != nil {
			t.Errorf("%s: %v", requester, err)
		}
	}
	before := len(r.Requests())
	for _, requester := range []string{"acme/web", "acme/payments-fork", "", "ops"} {
		_, err := f.FetchFor(ctx(t), requester, r.URL, "web", "1.4.2")
		var refused *RefusedError
		if !errors.As(err, &refused) || len(refused.Allowed) != 0 {
			t.Errorf("%q: %v; want a refusal that lists no source", requester, err)
		}
	}
	if _, err := f.Fetch(ctx(t), r.URL, "web", "1.4.2"); err == nil {
		t.Error("a fetch for no known repository used an entry open to some only")
	}
	if after := len(r.Requests()); after != before {
		t.Errorf("refused fetches reached the repository: %v", r.Requests()[before:])
	}

	reg := chartsrctest.NewRegistry(t, web)
	reg.Password = "team-pw"
	f = newFetcher(t,
		Source{URL: reg.URL, PlainHTTP: true, Username: "bot", Password: "team-pw", Repos: []string{"acme/payments"}},
		Source{URL: "oci://" + reg.Host, PlainHTTP: true})
	if _, err := f.FetchFor(ctx(t), "acme/payments", reg.URL, "web", "1.4.2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.FetchFor(ctx(t), "acme/web", reg.URL, "web", "1.4.2"); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Errorf("acme/web fetched the chart acme/payments' credentials fetched: %v; want the registry's refusal", err)
	}
}
