package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// The cache connects once per cluster and identity: two environments with
// the same service account share a target, another account gets its own.
func TestTargetCacheKeysOnClusterAndServiceAccount(t *testing.T) {
	var resolved []string
	cache := NewTargetCache(func(_ context.Context, key TargetKey) (Target, error) {
		resolved = append(resolved, fmt.Sprintf("%s as %q", key.Cluster, key.ServiceAccount.String()))
		return planOnly{}, nil
	})
	envs := []repoconfig.Environment{
		{Name: "a", Cluster: "prod", Namespace: "shop-a", ServiceAccount: "deployer"},
		{Name: "a2", Cluster: "prod", ServiceAccount: "shop-a/deployer"}, // the same account, spelt out
		{Name: "b", Cluster: "prod", Namespace: "shop-b", ServiceAccount: "deployer"},
		{Name: "c", Cluster: "prod"},
		{Name: "d", Cluster: "staging", ServiceAccount: "shop-a/deployer"},
		{Name: "e", Cluster: "prod", Namespace: "shop-e"},
	}
	for _, e := range envs {
		r, err := cache.Resolve(&e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cache.Target(context.Background(), r.Key); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`prod as "shop-a/deployer"`, `prod as "shop-b/deployer"`, `prod as ""`, `staging as "shop-a/deployer"`}
	if !slices.Equal(resolved, want) {
		t.Errorf("resolved\n %q\nwant\n %q", resolved, want)
	}
}

// A cluster that could not be reached is tried again on the next use, not
// remembered as failed for the life of the process.
func TestTargetCacheRetriesFailures(t *testing.T) {
	calls := 0
	cache := NewTargetCache(func(_ context.Context, key TargetKey) (Target, error) {
		calls++
		if calls == 1 {
			return nil, errors.New("connection refused")
		}
		return planOnly{}, nil
	})
	key := TargetKey{Cluster: "prod"}
	if _, err := cache.Target(context.Background(), key); err == nil {
		t.Fatal("the first resolution's error was not returned")
	}
	for range 2 {
		if _, err := cache.Target(context.Background(), key); err != nil {
			t.Fatalf("the cluster is reachable again, but: %v", err)
		}
	}
	if calls != 2 {
		t.Errorf("resolve called %d times, want 2 (a failure, then one success kept)", calls)
	}
}

// planOnly is a Target that plans nothing: the cache tests count
// connections, not plans.
type planOnly struct{}

func (planOnly) Scope() render.Scoper { return nil }
func (planOnly) Compute(context.Context, *repoconfig.Environment, plan.Basis, *render.Result) (*plan.Plan, error) {
	return &plan.Plan{}, nil
}

// Every identity's target on one cluster draws on one request budget, so
// environments planned at once (as several service accounts or one) cannot
// multiply the requests in flight; another cluster has its own.
func TestConnectedSharesOneBudgetPerCluster(t *testing.T) {
	connect := func(name string) (*rest.Config, error) {
		return &rest.Config{Host: "https://" + name + ".invalid"}, nil // NewEngine makes no request
	}
	resolve := Connected(connect, plan.Options{Concurrency: 8})
	budget := func(cluster, sa string) *plan.Budget {
		t.Helper()
		key := TargetKey{Cluster: cluster}
		if sa != "" {
			env := repoconfig.Environment{ServiceAccount: sa}
			key.ServiceAccount = env.ServiceAccountRef()
		}
		target, err := resolve(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return target.(*ClusterTarget).Budget()
	}
	prod, prodAsDeployer, staging := budget("prod", ""), budget("prod", "shop/deployer"), budget("staging", "")
	if prod != prodAsDeployer {
		t.Error("two identities on one cluster have separate budgets")
	}
	if prod == staging {
		t.Error("two clusters share a budget")
	}
	if prod.Size() != 8 {
		t.Errorf("budget of %d requests, want the engine's concurrency, 8", prod.Size())
	}
}
