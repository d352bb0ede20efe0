package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/chartsrc/chartsrctest"
	"github.com/slipwayhq/slipway/internal/config"
)

// Charts from outside the repository, end to end: one by oci:// reference
// and one as a committed chart's dependency from an HTTP repository, both
// on the server config's allow-list. The plan names them with their
// versions, a dependency bump in Chart.yaml diffs like any change, and a
// chart source off the list fails the plan naming the list, unfetched.
func TestChartsFromElsewhere(t *testing.T) {
	reg := chartsrctest.NewRegistry(t, chartsrctest.Chart{Name: "web", Version: "1.4.2", Templates: chartsrctest.ConfigMap("web"), Values: "greeting: hi\n"})
	repo := chartsrctest.NewRepo(t,
		chartsrctest.Chart{Name: "db", Version: "2.0.0", Templates: chartsrctest.ConfigMap("db"), Values: "greeting: db\n"},
		chartsrctest.Chart{Name: "db", Version: "2.1.0", Templates: chartsrctest.ConfigMap("db"), Values: "greeting: db\n"})
	elsewhere := chartsrctest.NewRepo(t, chartsrctest.Chart{Name: "db", Version: "2.1.0", Templates: chartsrctest.ConfigMap("db")})
	chartYAML := func(repoURL, version string) string {
		return fmt.Sprintf("apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n  - name: db\n    version: %s\n    repository: %s\n", version, repoURL)
	}
	w := newWorldWith(t, 2, func(w *world) map[string]string {
		return map[string]string{
			".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: web
    path: deploy/web
    cluster: test
    namespace: %s
    helm:
      chart: %s/web
      version: 1.4.2
      values: [values.yaml]
  - name: shop
    path: deploy/shop
    cluster: test
    namespace: %s
`, w.staging, reg.URL, w.prod),
			"deploy/web/values.yaml": "greeting: hello\n",
			"deploy/shop/Chart.yaml": chartYAML(repo.URL, "2.0.0"),
		}
	}, func(c *config.Config) {
		// The registry is open to this repository only: the plans pass
		// it the repository they render (helm.repositories[].repos).
		c.Helm.Repositories = []config.HelmRepository{{URL: reg.URL, PlainHTTP: true, Repos: []string{shopRepo}}, {URL: repo.URL}}
		c.Helm.CacheDir = t.TempDir()
	})

	pr := w.openPR("bump", "alice", map[string]string{
		"deploy/web/values.yaml": "greeting: hello again\n",
		"deploy/shop/Chart.yaml": chartYAML(repo.URL, "2.1.0"),
	})
	web := w.completed(w.head(pr), "slipway/plan: web")
	shop := w.completed(w.head(pr), "slipway/plan: shop")
	for _, run := range []struct {
		text  string
		wants []string
	}{
		{web.GetOutput().GetSummary() + web.GetOutput().GetText(), []string{reg.URL + "/web 1.4.2 (sha256:", "hello again"}},
		{shop.GetOutput().GetSummary() + shop.GetOutput().GetText(), []string{"db from " + repo.URL + " 2.1.0 (sha256:", "db-2.1.0"}},
	} {
		for _, want := range run.wants {
			if !strings.Contains(run.text, want) {
				t.Errorf("the plan does not say %q:\n%s", want, run.text)
			}
		}
	}
	if web.GetConclusion() != "success" || shop.GetConclusion() != "success" {
		t.Errorf("plans concluded %s and %s", web.GetConclusion(), shop.GetConclusion())
	}

	// A dependency from a source off the allow-list: a plan error naming
	// it, and the source never hears of it.
	if _, err := w.sim.Push(w.repo, "bump", map[string]string{"deploy/shop/Chart.yaml": chartYAML(elsewhere.URL, "2.1.0")}, "elsewhere", "alice"); err != nil {
		t.Fatal(err)
	}
	shop = w.completed(w.head(pr), "slipway/plan: shop")
	out := shop.GetOutput().GetSummary() + shop.GetOutput().GetText()
	if shop.GetConclusion() != "failure" || !strings.Contains(out, elsewhere.URL+" is not a chart source the server config allows (helm.repositories: "+reg.URL+", "+repo.URL+")") {
		t.Errorf("plan %s:\n%s", shop.GetConclusion(), out)
	}
	if n := len(elsewhere.Requests()); n != 0 {
		t.Errorf("the source off the list saw %d requests", n)
	}
}
