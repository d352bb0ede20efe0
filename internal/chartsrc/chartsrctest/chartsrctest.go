// Package chartsrctest serves Helm charts for tests, in process: an HTTP
// chart repository (index.yaml and archives) and an OCI registry, each
// counting the requests it sees, and packages charts with the Helm SDK so
// that no archive is committed.
package chartsrctest

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
)

// Chart describes a chart to package.
type Chart struct {
	Name, Version string
	// Templates by file name under templates/.
	Templates map[string]string
	Values    string // values.yaml
}

// ConfigMap is a template that renders one ConfigMap named after the
// release and the chart, holding .Values.greeting.
func ConfigMap(name string) map[string]string {
	return map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-" + name + "\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n"}
}

// Package returns c as a chart archive (.tgz), made by chartutil.Save as
// `helm package` makes it.
func Package(t testing.TB, c Chart) []byte {
	t.Helper()
	ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: c.Name, Version: c.Version, Type: "application"}}
	for name, body := range c.Templates {
		ch.Templates = append(ch.Templates, &chart.File{Name: "templates/" + name, Data: []byte(body)})
	}
	if c.Values != "" {
		vals, err := chartutil.ReadValues([]byte(c.Values))
		if err != nil {
			t.Fatal(err)
		}
		ch.Values = vals
		ch.Raw = append(ch.Raw, &chart.File{Name: chartutil.ValuesfileName, Data: []byte(c.Values)})
	}
	dir := t.TempDir()
	p, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Counter counts the requests a test server sees.
type Counter struct {
	mu    sync.Mutex
	paths []string
	auths []string
	// Password, when set, is required as basic auth (any user name).
	Password string
}

// Auths lists the Authorization headers seen, one per request ("" for none).
func (c *Counter) Auths() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.auths...)
}

// Requests lists the paths requested so far.
func (c *Counter) Requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.paths...)
}

// Count is how many requests whose path contains part were made.
func (c *Counter) Count(part string) int {
	n := 0
	for _, p := range c.Requests() {
		if strings.Contains(p, part) {
			n++
		}
	}
	return n
}

func (c *Counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.paths = append(c.paths, r.URL.Path)
		c.auths = append(c.auths, r.Header.Get("Authorization"))
		want := c.Password
		c.mu.Unlock()
		if _, pw, _ := r.BasicAuth(); want != "" && pw != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Repo is an HTTP chart repository.
type Repo struct {
	Counter
	URL    string // the repository's URL: index.yaml is below it
	Server *httptest.Server
	files  map[string][]byte
	mu     sync.Mutex
}

// NewRepo serves charts at URL/index.yaml and URL/charts/NAME-VERSION.tgz.
func NewRepo(t testing.TB, charts ...Chart) *Repo {
	r := &Repo{files: map[string][]byte{}}
	r.Server = httptest.NewServer(r.wrap(http.HandlerFunc(r.serve)))
	t.Cleanup(r.Server.Close)
	r.URL = r.Server.URL
	idx := repo.NewIndexFile()
	for _, c := range charts {
		data := Package(t, c)
		name := "charts/" + c.Name + "-" + c.Version + ".tgz"
		r.files["/"+name] = data
		digest, err := digestOf(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.MustAdd(&chart.Metadata{APIVersion: chart.APIVersionV2, Name: c.Name, Version: c.Version}, c.Name+"-"+c.Version+".tgz", r.URL+"/charts", digest); err != nil {
			t.Fatal(err)
		}
	}
	r.SetIndex(t, idx)
	return r
}

// SetIndex replaces the served index.yaml.
func (r *Repo) SetIndex(t testing.TB, idx *repo.IndexFile) {
	p := filepath.Join(t.TempDir(), "index.yaml")
	if err := idx.WriteFile(p, 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	r.Put("/index.yaml", data)
}

// Put serves data at path.
func (r *Repo) Put(path string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[path] = data
}

func (r *Repo) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	data, ok := r.files[req.URL.Path]
	r.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	w.Write(data)
}

func digestOf(data []byte) (string, error) {
	return repoDigest(bytes.NewReader(data))
}

// Registry is an OCI registry holding charts under /charts.
type Registry struct {
	Counter
	// URL is the registry path charts are pushed to: oci://HOST/charts.
	URL    string
	Host   string
	Server *httptest.Server
}

// NewRegistry serves an in-memory OCI registry (go-containerregistry's)
// and pushes charts to it with helm's registry client, over plain http.
func NewRegistry(t testing.TB, charts ...Chart) *Registry {
	r := &Registry{}
	r.Server = httptest.NewServer(r.wrap(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(r.Server.Close)
	r.Host = strings.TrimPrefix(r.Server.URL, "http://")
	r.URL = "oci://" + r.Host + "/charts"
	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard),
		registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "none.json")))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		if _, err := client.Push(Package(t, c), r.Host+"/charts/"+c.Name+":"+c.Version); err != nil {
			t.Fatal(err)
		}
	}
	r.mu.Lock()
	r.paths, r.auths = nil, nil // the pushes are not what a test counts
	r.mu.Unlock()
	return r
}
