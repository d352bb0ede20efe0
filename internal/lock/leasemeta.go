package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
)

// Labels and annotations on slipway's Leases. Labels select (label values
// cannot hold "owner/name", so the repository is selected by a hash of
// it); annotations hold the key and holder exactly as written.
const (
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelKind      = "slipway.dev/lease"
	labelRepo      = "slipway.dev/repo-hash"

	annotationRepo   = "slipway.dev/repo"        // the key's repository
	annotationEnv    = "slipway.dev/environment" // the key's environment
	annotationHolder = "slipway.dev/holder-repo" // the holding pull request's repository
	annotationPR     = "slipway.dev/pull-request"
	annotationSince  = "slipway.dev/since" // RFC 3339 with nanoseconds, UTC
	annotationWhat   = "slipway.dev/run"   // what a run lease's holder is applying
	annotationRunID  = "slipway.dev/run-id"

	managedBy = "slipway"
	kindLock  = "environment-lock" // a pull request's lock; never expires
	kindRun   = "run"              // an apply in progress; expires unless renewed
)

// leaseName is the Lease that stands for key: a readable part for people
// running kubectl, and a hash of the exact key (repository lowered, as
// GitHub compares it; environment as written) so that keys the readable
// part conflates ("Staging" and "staging", or names cut short) still get
// different Leases. The result is a DNS label (at most 63 characters).
func leaseName(kind string, k Key) string {
	prefix := "slipway-lock-"
	if kind == kindRun {
		prefix = "slipway-run-"
	}
	sum := sha256.Sum256([]byte(strings.ToLower(k.Repo) + "\x00" + k.Env))
	hash := hex.EncodeToString(sum[:8])
	readable := dnsSafe(strings.ToLower(k.Repo+"-"+k.Env), 63-len(prefix)-len(hash)-1)
	if readable == "" {
		return prefix + hash
	}
	return prefix + readable + "-" + hash
}

// repoHash selects a repository's Leases by label.
func repoHash(repo string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(repo)))
	return hex.EncodeToString(sum[:16])
}

// dnsSafe keeps lowercase letters and digits, turns runs of anything else
// into one dash, and cuts the result to max characters without a dash at
// either end.
func dnsSafe(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	return strings.Trim(out, "-")
}

func leaseLabels(kind string, k Key) map[string]string {
	return map[string]string{labelManagedBy: managedBy, labelKind: kind, labelRepo: repoHash(k.Repo)}
}

// selector picks every Lease of kind in repo.
func selector(kind, repo string) string {
	return fmt.Sprintf("%s=%s,%s=%s,%s=%s", labelManagedBy, managedBy, labelKind, kind, labelRepo, repoHash(repo))
}

// keyOf reads the key a Lease stands for from its annotations.
func keyOf(l *coordinationv1.Lease) Key {
	return Key{Repo: l.Annotations[annotationRepo], Env: l.Annotations[annotationEnv]}
}

// sameKey reports whether two keys name the same environment: the
// repository compared as GitHub does, the environment exactly.
func sameKey(a, b Key) bool {
	return strings.EqualFold(a.Repo, b.Repo) && a.Env == b.Env
}

// checkKey refuses a Lease that stands for another key than the one its
// name was made from: a hash collision or a hand-made Lease, never to be
// overwritten or freed in key's name. A Lease naming no key is free.
func checkKey(l *coordinationv1.Lease, k Key) error {
	if got := keyOf(l); got.Repo != "" && !sameKey(got, k) {
		return fmt.Errorf("lease %s/%s is for %s %q, not %s %q: refusing to touch it", l.Namespace, l.Name, got.Repo, got.Env, k.Repo, k.Env)
	}
	return nil
}
