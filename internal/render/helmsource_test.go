package render

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/slipwayhq/slipway/internal/chartsrc"
	"github.com/slipwayhq/slipway/internal/chartsrc/chartsrctest"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// sources are an HTTP chart repository and an OCI registry, each holding
// web 1.4.2 and db 2.0.0, and a fetcher allowed to use both.
type sources struct {
	repo  *chartsrctest.Repo
	reg   *chartsrctest.Registry
	fetch *chartsrc.Fetcher
}

var remoteCharts = []chartsrctest.Chart{
	{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("web"), Values: "greeting: hello\n"},
	{Name: "db", Version: "2.0.0", Templates: chartsrctest.ConfigMap("db"), Values: "greeting: db\n"},
}

func newSources(t *testing.T, allow ...chartsrc.Source) *sources {
	s := &sources{repo: chartsrctest.NewRepo(t, remoteCharts...), reg: chartsrctest.NewRegistry(t, remoteCharts...)}
	if allow == nil {
		allow = []chartsrc.Source{{URL: s.repo.URL}, {URL: s.reg.URL, PlainHTTP: true}}
	}
	f, err := chartsrc.New(chartsrc.Options{Sources: allow, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s.fetch = f
	return s
}

func (s *sources) options() Options {
	return Options{Fetch: func(ctx context.Context, repository string, ref ChartRef) (FetchedChart, error) {
		c, err := s.fetch.FetchFor(ctx, repository, ref.Repo, ref.Name, ref.Version)
		return FetchedChart{ChartRef: ref, Path: c.Path, Digest: c.Digest}, err
	}}
}

func (s *sources) requests() int { return len(s.repo.Requests()) + len(s.reg.Requests()) }

// remoteEnv renders chart ref at version with the repository's values.
func remoteEnv(ref repoconfig.ChartRef, version string) *repoconfig.Environment {
	e := env("deploy/web", "web")
	e.Helm = &repoconfig.Helm{Release: "shop", Chart: &ref, Version: version, Values: []string{"values.yaml"}}
	return e
}

func TestChartByReference(t *testing.T) {
	s := newSources(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"deploy/web/values.yaml": "greeting: from the repository\n"})
	ociRef, err := repoconfig.ParseOCIRef(s.reg.URL + "/web")
	if err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]repoconfig.ChartRef{"oci": ociRef, "http": {Repo: s.repo.URL, Chart: "web"}} {
		t.Run(name, func(t *testing.T) {
			before := s.requests()
			res, err := Render(context.Background(), root, remoteEnv(ref, "1.4.2"), s.options())
			if err != nil {
				t.Fatal(err)
			}
			cm := find(t, res.Objects, "ConfigMap", "shop-web")
			if cm.Object.Object["data"].(map[string]any)["greeting"] != "from the repository" || cm.File != "" {
				t.Errorf("ConfigMap %v from %q; want the repository's values, and no repository file", cm.Object.Object["data"], cm.File)
			}
			if len(res.Charts) != 1 || !strings.HasPrefix(res.Charts[0], ref.String()+" 1.4.2 (sha256:") {
				t.Errorf("charts %q, want %s 1.4.2 and its digest", res.Charts, ref)
			}
			if !slices.Equal(res.Files, []string{"deploy/web/values.yaml"}) {
				t.Errorf("files read %q", res.Files)
			}
			if s.requests() == before {
				t.Fatal("nothing was fetched")
			}
			// A second plan is served from the cache: no request at all.
			before = s.requests()
			if _, err := Render(context.Background(), root, remoteEnv(ref, "1.4.2"), s.options()); err != nil {
				t.Fatal(err)
			}
			if s.requests() != before {
				t.Errorf("the second render made %d requests", s.requests()-before)
			}
		})
	}
}

// chartWithDeps is a committed chart depending on db from the HTTP
// repository and web from the registry, in ranges a Chart.lock pins.
func chartWithDeps(t *testing.T, s *sources, lockDigest string) string {
	root := t.TempDir()
	deps := []*chart.Dependency{
		{Name: "db", Version: "~2.0.0", Repository: s.repo.URL},
		{Name: "web", Version: "^1.4.0", Repository: s.reg.URL},
		{Name: "common", Version: "0.1.0", Repository: "file://../common"},
	}
	lock := []*chart.Dependency{
		{Name: "db", Version: "2.0.0", Repository: s.repo.URL},
		{Name: "web", Version: "1.4.2", Repository: s.reg.URL},
		{Name: "common", Version: "0.1.0", Repository: "file://../common"},
	}
	if lockDigest == "" {
		var err error
		if lockDigest, err = hashReq(deps, lock); err != nil {
			t.Fatal(err)
		}
	}
	var chartYAML, lockYAML strings.Builder
	chartYAML.WriteString("apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n")
	lockYAML.WriteString("dependencies:\n")
	for i := range deps {
		fmt.Fprintf(&chartYAML, "  - name: %s\n    version: %q\n    repository: %s\n", deps[i].Name, deps[i].Version, deps[i].Repository)
		fmt.Fprintf(&lockYAML, "- name: %s\n  version: %s\n  repository: %s\n", lock[i].Name, lock[i].Version, lock[i].Repository)
	}
	fmt.Fprintf(&lockYAML, "digest: %s\ngenerated: \"2026-12-01T10:00:00Z\"\n", lockDigest)
	writeFiles(t, root, map[string]string{
		"deploy/shop/Chart.yaml":          chartYAML.String(),
		"deploy/shop/Chart.lock":          lockYAML.String(),
		"deploy/shop/values.yaml":         "db:\n  greeting: db from the parent\n",
		"deploy/common/Chart.yaml":        "apiVersion: v2\nname: common\nversion: 0.1.0\n",
		"deploy/common/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: common\n",
	})
	return root
}

func TestChartDependencies(t *testing.T) {
	s := newSources(t)
	root := chartWithDeps(t, s, "")
	res, err := Render(context.Background(), root, env("deploy/shop", "shop"), s.options())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ConfigMap /common", "ConfigMap /test-db", "ConfigMap /test-web"}
	if got := refs(res.Objects); !slices.Equal(got, want) {
		t.Fatalf("objects %q, want %q", got, want)
	}
	db := find(t, res.Objects, "ConfigMap", "test-db")
	if db.Object.Object["data"].(map[string]any)["greeting"] != "db from the parent" {
		t.Errorf("db got %v; want the parent's values for it", db.Object.Object["data"])
	}
	if len(res.Charts) != 2 {
		t.Errorf("charts %q, want db and web", res.Charts)
	}
	for _, f := range []string{"deploy/shop/Chart.lock", "deploy/common/Chart.yaml"} {
		if !slices.Contains(res.Files, f) {
			t.Errorf("files read %q lack %s", res.Files, f)
		}
	}
	if s.repo.Count(".tgz") != 1 || s.reg.Count("/blobs/") == 0 {
		t.Errorf("requests: repo %v, registry %v", s.repo.Requests(), s.reg.Requests())
	}
}

// TestHelmFetchRefusals: each is refused before any request reaches the
// chart sources.
func TestHelmFetchRefusals(t *testing.T) {
	s := newSources(t)
	tests := []struct {
		name  string
		setup func(t *testing.T) (string, *repoconfig.Environment, Options)
		file  string
		want  []string
	}{
		{
			name: "Chart.lock out of sync",
			setup: func(t *testing.T) (string, *repoconfig.Environment, Options) {
				return chartWithDeps(t, s, "sha256:0000000000000000000000000000000000000000000000000000000000000000"), env("deploy/shop", "shop"), s.options()
			},
			file: "deploy/shop/Chart.lock",
			want: []string{"Chart.lock is out of sync with the dependencies in Chart.yaml", "run 'helm dependency update'"},
		},
		{
			name: "dependency source not allowed",
			setup: func(t *testing.T) (string, *repoconfig.Environment, Options) {
				only := newSources(t, chartsrc.Source{URL: "https://charts.example.com"})
				only.repo, only.reg = s.repo, s.reg
				return chartWithDeps(t, s, ""), env("deploy/shop", "shop"), only.options()
			},
			file: "deploy/shop/Chart.yaml",
			want: []string{"is not a chart source the server config allows (helm.repositories: https://charts.example.com)"},
		},
		{
			name: "chart reference not allowed",
			setup: func(t *testing.T) (string, *repoconfig.Environment, Options) {
				only := newSources(t, chartsrc.Source{URL: s.reg.URL + "/other", PlainHTTP: true})
				ref, _ := repoconfig.ParseOCIRef(s.reg.URL + "/web")
				root := t.TempDir()
				writeFiles(t, root, map[string]string{"deploy/web/values.yaml": "{}\n"})
				return root, remoteEnv(ref, "1.4.2"), only.options()
			},
			file: ".slipway.yaml",
			want: []string{s.reg.URL + " is not a chart source the server config allows (helm.repositories: " + s.reg.URL + "/other)"},
		},
		{
			name: "a version range without a Chart.lock",
			setup: func(t *testing.T) (string, *repoconfig.Environment, Options) {
				root := t.TempDir()
				writeFiles(t, root, map[string]string{"deploy/shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n  - name: db\n    version: ~2.0.0\n    repository: " + s.repo.URL + "\n"})
				return root, env("deploy/shop", "shop"), s.options()
			},
			file: "deploy/shop/Chart.yaml",
			want: []string{`dependency db has version "~2.0.0", which is not one exact version`},
		},
		{
			name: "a repository by local name",
			setup: func(t *testing.T) (string, *repoconfig.Environment, Options) {
				root := t.TempDir()
				writeFiles(t, root, map[string]string{"deploy/shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n  - name: db\n    version: 2.0.0\n    repository: \"@stable\"\n"})
				return root, env("deploy/shop", "shop"), s.options()
			},
			file: "deploy/shop/Chart.yaml",
			want: []string{`names its repository "@stable" by a local name`},
		},
		{
			name: "helm.chart and a Chart.yaml",
			setup: func(t *testing.T) (string, *repoconfig.Environment, Options) {
				root := t.TempDir()
				writeFiles(t, root, map[string]string{"deploy/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n"})
				return root, remoteEnv(repoconfig.ChartRef{Repo: s.repo.URL, Chart: "web"}, "1.4.2"), s.options()
			},
			file: "deploy/web/Chart.yaml",
			want: []string{"names helm.chart in .slipway.yaml, but its path holds this file too"},
		},
		{
			name: "no fetcher",
			setup: func(t *testing.T) (string, *repoconfig.Environment, Options) {
				return chartWithDeps(t, s, ""), env("deploy/shop", "shop"), Options{}
			},
			file: "deploy/shop/Chart.yaml",
			want: []string{"dependencies db, web are in Chart.yaml but not in charts/", "can only be fetched by slipway's server"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.requests()
			root, e, opts := tt.setup(t)
			err := renderError(t, root, e, opts)
			if err.File != tt.file {
				t.Errorf("error %q at %q, want %q", err, err.File, tt.file)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Msg, want) {
					t.Errorf("error %q\nwant it to say %q", err.Msg, want)
				}
			}
			if s.requests() != before {
				t.Errorf("the chart sources saw %d requests", s.requests()-before)
			}
		})
	}
}

func TestHelmFetchFailures(t *testing.T) {
	s := newSources(t)
	dead := chartsrctest.NewRepo(t)
	dead.Server.Close()
	wrongName := chartsrctest.NewRegistry(t, chartsrctest.Chart{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("web")})
	f, err := chartsrc.New(chartsrc.Options{Sources: []chartsrc.Source{{URL: dead.URL}, {URL: wrongName.URL, PlainHTTP: true}}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s.fetch = f
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"deploy/web/values.yaml": "{}\n"})
	err2 := renderError(t, root, remoteEnv(repoconfig.ChartRef{Repo: dead.URL, Chart: "web"}, "1.4.2"), s.options())
	if err2.File != ".slipway.yaml" || !strings.Contains(err2.Msg, "fetch chart web 1.4.2 from "+dead.URL) || !strings.Contains(err2.Msg, "connection refused") {
		t.Errorf("unreachable source: %q at %q", err2.Msg, err2.File)
	}
	// A source serving another chart under the name asked for.
	fetched := FetchedChart{ChartRef: ChartRef{Repo: wrongName.URL, Name: "api", Version: "1.4.2"}}
	c, err := f.Fetch(context.Background(), wrongName.URL, "web", "1.4.2")
	if err != nil {
		t.Fatal(err)
	}
	fetched.Path = c.Path
	ref, _ := repoconfig.ParseOCIRef(wrongName.URL + "/api")
	err3 := renderError(t, root, remoteEnv(ref, "1.4.2"), Options{Charts: []FetchedChart{fetched}})
	if !strings.Contains(err3.Msg, "serves chart web 1.4.2 under api 1.4.2") {
		t.Errorf("wrong chart: %q", err3.Msg)
	}
}

// hashReq is helm's: its own test's expected digest.
func TestHashReqIsHelms(t *testing.T) {
	deps := []*chart.Dependency{{Name: "alpine", Version: "0.1.0", Repository: "http://localhost:8879/charts"}}
	got, err := hashReq(deps, deps)
	if err != nil || got != "sha256:fb239e836325c5fa14b29d1540a13b7d3ba13151b67fe719f820e0ef6d66aaaf" {
		t.Errorf("hashReq = %s, %v", got, err)
	}
}

// One chart under two aliases is fetched once and rendered under each.
func TestDependencyAliases(t *testing.T) {
	r := chartsrctest.NewRepo(t, chartsrctest.Chart{Name: "db", Version: "2.0.0", Templates: map[string]string{
		"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}\n",
	}})
	s := newSources(t, chartsrc.Source{URL: r.URL})
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"deploy/shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n" +
		"  - {name: db, version: 2.0.0, repository: " + r.URL + ", alias: primary}\n" +
		"  - {name: db, version: 2.0.0, repository: " + r.URL + ", alias: replica}\n"})
	res, err := Render(context.Background(), root, env("deploy/shop", "shop"), s.options())
	if err != nil {
		t.Fatal(err)
	}
	if got := refs(res.Objects); !slices.Equal(got, []string{"ConfigMap /primary", "ConfigMap /replica"}) {
		t.Errorf("objects %q", got)
	}
	if n := r.Count(".tgz"); n != 1 {
		t.Errorf("downloaded %d times", n)
	}
}
