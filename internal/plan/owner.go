package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// An environment's inventory is keyed by the repository and the
// environment: two repositories may both call an environment "production"
// and deploy to one namespace, and each must prune only its own objects.
// The parent's name carries a short hash of the repository (a name must be a
// DNS subdomain, which "acme/shop" is not), and the parent records the
// repository and environment in full in annotations; the hash only keeps
// the names apart, the recorded repository is what ownership is checked
// against.
const (
	inventoryRepositoryKey = "slipway.dev/repository"
	// repoHashLen hex digits (40 bits) of the repository's hash name its
	// parent; a collision is caught by the recorded repository, not silently
	// shared.
	repoHashLen = 10
)

// InventoryName is the name of the ApplySet parent ConfigMap that records
// what environment env of repository repo (owner/name) owns:
// slipway-<env>-<the first 10 hex digits of sha256(lowercased repo)>.
// GitHub's names are case-insensitive, so "Acme/Shop" is "acme/shop".
// Environment names are at most 63 characters, so the name stays well
// within the 253 a ConfigMap may have.
func InventoryName(repo, env string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(repo)))
	return inventoryNamePrefix + env + "-" + hex.EncodeToString(sum[:])[:repoHashLen]
}

// legacyInventoryName is the name an environment's parent had before it
// was keyed by repository, when two repositories' environments of one name
// shared it. slipway adopts such a parent on first use (see migrate.go).
func legacyInventoryName(env string) string {
	return inventoryNamePrefix + env
}

// ownership is what a slipway parent found in the cluster means for the
// repository planning it.
type ownership int

const (
	ownedByUs    ownership = iota // it records this repository
	unowned                       // it records none: a legacy parent, free to adopt
	ownedByOther                  // it records another repository: refuse
)

// ownerOf decides whose a parent is from the repository it records.
func ownerOf(recorded, repo string) ownership {
	switch {
	case recorded == "":
		return unowned
	case strings.EqualFold(recorded, repo):
		return ownedByUs
	}
	return ownedByOther
}

// errOtherRepository refuses a parent another repository owns.
func errOtherRepository(name, namespace, owner, repo string) error {
	return fmt.Errorf("the inventory %s in %s belongs to %s, not %s: two repositories cannot own one environment's objects; rename the environment or use another namespace",
		name, namespace, owner, repo)
}
