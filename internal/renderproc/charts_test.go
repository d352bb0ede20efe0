package renderproc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/chartsrc"
	"github.com/slipwayhq/slipway/internal/chartsrc/chartsrctest"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

func fetcher(t *testing.T, sources ...chartsrc.Source) render.FetchFunc {
	f, err := chartsrc.New(chartsrc.Options{Sources: sources, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return Fetcher(f)
}

// A chart by reference and a committed chart's dependency are fetched by
// the parent and rendered by the child; the second render fetches nothing.
func TestChartsFetchedForTheChild(t *testing.T) {
	reg := chartsrctest.NewRegistry(t, chartsrctest.Chart{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("web"), Values: "greeting: hi\n"})
	repo := chartsrctest.NewRepo(t, chartsrctest.Chart{Name: "db", Version: "2.0.0", Templates: chartsrctest.ConfigMap("db"), Values: "greeting: db\n"})
	fetch := fetcher(t, chartsrc.Source{URL: reg.URL, PlainHTTP: true}, chartsrc.Source{URL: repo.URL})
	root := writeTree(t, map[string]string{
		"values.yaml":  "greeting: from the repository\n",
		"values/.keep": "",
		"Chart.yaml":   "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: db\n    version: 2.0.0\n    repository: " + repo.URL + "\n",
	})
	ref, err := repoconfig.ParseOCIRef(reg.URL + "/web")
	if err != nil {
		t.Fatal(err)
	}
	remote := &repoconfig.Environment{Name: "staging", Path: "deploy/app/values", Namespace: "shop",
		Helm: &repoconfig.Helm{Release: "shop", Chart: &ref, Version: "1.4.2", Values: []string{"../values.yaml"}}}
	committed := &repoconfig.Environment{Name: "staging", Path: "deploy/app", Namespace: "shop"}
	for _, tt := range []struct {
		name string
		env  *repoconfig.Environment
		want string
	}{{"by reference", remote, "shop-web"}, {"dependency", committed, "staging-db"}} {
		t.Run(tt.name, func(t *testing.T) {
			for round := range 2 {
				before := len(reg.Requests()) + len(repo.Requests())
				res, err := Render(context.Background(), root, tt.env, render.Options{Fetch: fetch}, testLimits)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Objects) != 1 || res.Objects[0].Object.GetName() != tt.want || len(res.Charts) != 1 {
					t.Fatalf("objects %v, charts %q", res.Objects, res.Charts)
				}
				fetched := len(reg.Requests()) + len(repo.Requests()) - before
				if round == 1 && fetched != 0 {
					t.Errorf("the second render made %d requests", fetched)
				}
			}
		})
	}
}

// A source that never answers is stopped by the render's own timeout.
func TestFetchWithinTheRenderTimeout(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	root := writeTree(t, map[string]string{"values.yaml": "{}\n"})
	env := &repoconfig.Environment{Name: "staging", Path: "deploy/app", Namespace: "shop",
		Helm: &repoconfig.Helm{Chart: &repoconfig.ChartRef{Repo: hang.URL, Chart: "web"}, Version: "1.0.0"}}
	limits := testLimits
	limits.Timeout = time.Second
	start := time.Now()
	_, err := Render(context.Background(), root, env, render.Options{Fetch: fetcher(t, chartsrc.Source{URL: hang.URL})}, limits)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != KeyTimeout || !strings.Contains(err.Error(), "render.timeout (1s)") {
		t.Fatalf("error %v, want the render timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopped after %s", took)
	}
}

// Refused, the render is a located error and the child never ran a
// fetch: the servers see nothing.
func TestRefusedChartIsAPlanError(t *testing.T) {
	reg := chartsrctest.NewRegistry(t, chartsrctest.Chart{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("web")})
	root := writeTree(t, map[string]string{"values.yaml": "{}\n"})
	ref, _ := repoconfig.ParseOCIRef(reg.URL + "/web")
	env := &repoconfig.Environment{Name: "staging", Path: "deploy/app", Namespace: "shop", Helm: &repoconfig.Helm{Chart: &ref, Version: "1.4.2"}}
	_, err := Render(context.Background(), root, env, render.Options{Fetch: fetcher(t, chartsrc.Source{URL: "oci://registry.example.com/charts"})}, testLimits)
	var located *render.Error
	if !errors.As(err, &located) || located.File != ".slipway.yaml" || !strings.Contains(located.Msg, "helm.repositories: oci://registry.example.com/charts") {
		t.Fatalf("error %v", err)
	}
	if n := len(reg.Requests()); n != 0 {
		t.Errorf("the registry saw %d requests", n)
	}
	// Without a fetcher, the need is reported where the chart is named.
	_, err = Render(context.Background(), root, env, render.Options{}, testLimits)
	if !errors.As(err, &located) || located.File != ".slipway.yaml" || !strings.Contains(located.Msg, "can only be fetched by slipway's server") {
		t.Fatalf("error %v", err)
	}
}

// The render's repository (render.Options.Repository) is who the fetcher
// serves: an entry open to some repositories only fetches for them, and
// any other's plan fails at the file that names the chart, the registry
// seeing nothing.
func TestChartSourceOpenToSomeRepositories(t *testing.T) {
	reg := chartsrctest.NewRegistry(t, chartsrctest.Chart{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("web")})
	root := writeTree(t, map[string]string{"values.yaml": "{}\n"})
	ref, _ := repoconfig.ParseOCIRef(reg.URL + "/web")
	env := &repoconfig.Environment{Name: "staging", Path: "deploy/app", Namespace: "shop", Helm: &repoconfig.Helm{Chart: &ref, Version: "1.4.2"}}
	fetch := fetcher(t, chartsrc.Source{URL: reg.URL, PlainHTTP: true, Repos: []string{"acme/payments"}})
	_, err := Render(context.Background(), root, env, render.Options{Fetch: fetch, Repository: "acme/web"}, testLimits)
	var located *render.Error
	if !errors.As(err, &located) || located.File != ".slipway.yaml" || !strings.Contains(located.Msg, "not a chart source the server config allows") {
		t.Fatalf("acme/web: %v; want a refusal at .slipway.yaml", err)
	}
	if n := len(reg.Requests()); n != 0 {
		t.Errorf("the registry saw %d requests for acme/web", n)
	}
	res, err := Render(context.Background(), root, env, render.Options{Fetch: fetch, Repository: "acme/payments"}, testLimits)
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("acme/payments: %v", err)
	}
}
