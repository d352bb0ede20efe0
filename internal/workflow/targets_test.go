package workflow

import (
	"context"
	"fmt"
	"slices"
	"testing"

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
		if _, err := cache.Target(context.Background(), TargetKeyOf(&e)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`prod as "shop-a/deployer"`, `prod as "shop-b/deployer"`, `prod as ""`, `staging as "shop-a/deployer"`}
	if !slices.Equal(resolved, want) {
		t.Errorf("resolved\n %q\nwant\n %q", resolved, want)
	}
}
