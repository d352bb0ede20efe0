// Package lock holds per-environment locks: which pull request may apply an
// environment (Store: bolt, embedded, for one replica; or Kubernetes Leases
// shared by several), and which replica is applying it right now (Runs).
//
// slipway otherwise keeps its state in GitHub and the cluster. Locks are the
// exception because GitHub has nothing that says "this pull request owns
// staging until it merges": the lock must outlive a restart and be taken
// atomically when two pull requests plan the same environment at once.
package lock

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Key names one lockable environment of one repository.
type Key struct {
	Repo string // "owner/name"; compared case-insensitively, as GitHub does
	Env  string // environment name from .slipway.yaml; compared exactly
}

func (k Key) validate() error {
	if k.Repo == "" || k.Env == "" {
		return fmt.Errorf("lock key %q/%q: repository and environment are both required", k.Repo, k.Env)
	}
	if strings.ContainsRune(k.Repo, 0) || strings.ContainsRune(k.Env, 0) {
		return fmt.Errorf("lock key %q/%q: names may not contain NUL", k.Repo, k.Env)
	}
	return nil
}

// Holder is the pull request that holds a lock.
type Holder struct {
	Repo  string    `json:"repo"`  // "owner/name"; empty means the key's repository
	PR    int       `json:"pr"`    // pull request number
	Since time.Time `json:"since"` // when the lock was first taken; zero on Acquire means now
}

// Same reports whether h and o are the same pull request. Since is not part
// of a holder's identity: re-acquiring keeps the original time.
func (h Holder) Same(o Holder) bool {
	return h.PR == o.PR && strings.EqualFold(h.Repo, o.Repo)
}

// ErrLocked is returned by Acquire when another pull request holds the key.
type ErrLocked struct {
	Key    Key
	Holder Holder
}

func (e *ErrLocked) Error() string {
	return fmt.Sprintf("environment %s is locked by pull request #%d since %s",
		e.Key.Env, e.Holder.PR, e.Holder.Since.UTC().Format(time.RFC3339))
}

// Store keeps the locks. Implementations must make Acquire atomic across
// every process sharing the store. The behaviour every implementation must
// show is the suite testStore in lock_test.go; a new store runs it too.
type Store interface {
	// Acquire takes key for holder, or succeeds again if holder (same repo
	// and PR) already holds it, keeping the original Since. If another pull
	// request holds it, Acquire returns *ErrLocked naming that holder.
	Acquire(ctx context.Context, key Key, holder Holder) error
	// Release frees key if holder holds it. It is a no-op (nil) otherwise:
	// it never frees another pull request's lock.
	Release(ctx context.Context, key Key, holder Holder) error
	// ReleasePR frees every lock pr holds in repo and returns the freed
	// environments, sorted.
	ReleasePR(ctx context.Context, repo string, pr int) ([]string, error)
	// Holder returns who holds key, or nil if nobody does.
	Holder(ctx context.Context, key Key) (*Holder, error)
	// List returns every lock in repo keyed by environment (never nil), for
	// /help and reports; callers sort the environments to print them.
	List(ctx context.Context, repo string) (map[string]Holder, error)
	// Close releases the store's resources.
	Close() error
}

// normalise fills in what a caller may leave out: the holder's repository
// and the time the lock is taken.
func normalise(key Key, h Holder, now time.Time) Holder {
	if h.Repo == "" {
		h.Repo = key.Repo
	}
	if h.Since.IsZero() {
		h.Since = now
	}
	h.Since = h.Since.UTC().Round(0) // no monotonic reading: it does not survive storage
	return h
}
