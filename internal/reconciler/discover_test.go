package reconciler

import (
	"context"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// A cluster holds Flux and Argo CD objects of this repository and of
// another; discovery writes the former as environments, and the config it
// writes parses.
func TestDiscover(t *testing.T) {
	other := strings.NewReplacer("name: shop", "name: payments", "acme/shop", "acme/payments", "name: apps", "name: pay").Replace
	c := fakeCluster(t,
		fluxKustomization, gitRepository("https://github.com/acme/shop.git"),
		// A HelmRelease from a HelmRepository that the Kustomization
		// applies, and one another Kustomization applies.
		fluxHelmRelease, strings.NewReplacer("name: web", "name: other", "name: apps", "name: pay").Replace(fluxHelmRelease),
		other(gitRepository("https://github.com/acme/payments.git")),
		strings.Replace(other(fluxKustomization), "kind: GitRepository, name: shop", "kind: GitRepository, name: payments", 1),
		argoApplication,
		strings.NewReplacer("shop-prod", "Pay_Prod", "acme/shop", "acme/payments").Replace(argoApplication),
		strings.NewReplacer("shop-prod", "apps", "argocd}", "team-b}", "namespace: argocd", "namespace: team-b").Replace(argoApplication),
	)
	envs, err := Discover(context.Background(), c, "acme/shop", "prod-cluster")
	if err != nil {
		t.Fatal(err)
	}
	text := WriteConfig(envs)
	t.Log(text)
	want := `version: 1
environments:
  - name: apps
    path: "clusters/prod"
    cluster: prod-cluster
    reconciler: {flux: {kind: Kustomization, name: apps, namespace: flux-system}}
  - name: web
    path: "clusters/prod"
    cluster: prod-cluster
    reconciler: {flux: {kind: HelmRelease, name: web, namespace: flux-system}}
  - name: shop-prod
    path: "clusters/prod"
    cluster: prod-cluster
    namespace: shop
    reconciler: {argocd: {application: shop-prod, namespace: argocd}}
  - name: apps-2
    path: "clusters/prod"
    cluster: prod-cluster
    namespace: shop
    reconciler: {argocd: {application: apps, namespace: team-b}}
`
	if text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
	if _, err := repoconfig.Parse(repoconfig.FileName, []byte(text)); err != nil {
		t.Errorf("the written config does not parse: %v", err)
	}
}
