package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestInventoryName(t *testing.T) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])[:10]
	}
	long := strings.Repeat("e", 63) // the longest environment name .slipway.yaml allows
	tests := []struct {
		repo, env, want string
	}{
		{"acme/shop", "production", "slipway-production-" + hash("acme/shop")},
		{"Acme/Shop", "production", "slipway-production-" + hash("acme/shop")}, // GitHub's names are case-insensitive
		{"acme/other", "production", "slipway-production-" + hash("acme/other")},
		{"acme/shop", "staging", "slipway-staging-" + hash("acme/shop")},
		{"acme/shop", long, "slipway-" + long + "-" + hash("acme/shop")},
	}
	for _, tc := range tests {
		got := InventoryName(tc.repo, tc.env)
		if got != tc.want {
			t.Errorf("InventoryName(%q, %q) = %q, want %q", tc.repo, tc.env, got, tc.want)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("InventoryName(%q, %q) = %q is no ConfigMap name: %v", tc.repo, tc.env, got, errs)
		}
	}
	if InventoryName("acme/shop", "production") == InventoryName("acme/other", "production") {
		t.Error("two repositories' environments of one name share a parent")
	}
	if InventoryName("acme/shop", "production") == legacyInventoryName("production") {
		t.Error("the new parent has the legacy parent's name")
	}
	if ApplySetID(InventoryName("acme/shop", "production"), "ns") == ApplySetID(InventoryName("acme/other", "production"), "ns") {
		t.Error("two repositories' environments of one name share an ApplySet id")
	}
}

func TestOwnerOf(t *testing.T) {
	tests := []struct {
		recorded, repo string
		want           ownership
	}{
		{"acme/shop", "acme/shop", ownedByUs},
		{"Acme/Shop", "acme/shop", ownedByUs},
		{"", "acme/shop", unowned},
		{"acme/other", "acme/shop", ownedByOther},
		{"acme/shop-old", "acme/shop", ownedByOther},
	}
	for _, tc := range tests {
		if got := ownerOf(tc.recorded, tc.repo); got != tc.want {
			t.Errorf("ownerOf(%q, %q) = %d, want %d", tc.recorded, tc.repo, got, tc.want)
		}
	}
}

func TestErrOtherRepositoryNamesBoth(t *testing.T) {
	err := errOtherRepository("slipway-production-ab12cd", "shop-prod", "acme/other", "acme/shop")
	const want = "the inventory slipway-production-ab12cd in shop-prod belongs to acme/other, not acme/shop: two repositories cannot own one environment's objects; rename the environment or use another namespace"
	if err.Error() != want {
		t.Errorf("error %q,\nwant  %q", err, want)
	}
}
