package lock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultBoltTimeout is how long OpenBolt waits for the file lock another
// process holds before giving up, rather than hanging at startup.
const DefaultBoltTimeout = 5 * time.Second

var bucketLocks = []byte("locks")

// Bolt is a Store in a bolt file. Only one process may open the file, so it
// suits a single slipway replica.
type Bolt struct {
	db  *bolt.DB
	now func() time.Time
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the bolt file at path; its parent
// directory is created 0700 and the file 0600.
func OpenBolt(path string) (*Bolt, error) {
	return openBolt(path, DefaultBoltTimeout)
}

func openBolt(path string, timeout time.Duration) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open lock store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open lock store %s: file still locked after %s; is another slipway running with the same store.path? (%w)", path, timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open lock store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketLocks)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open lock store %s: %w", path, err)
	}
	return &Bolt{db: db, now: time.Now}, nil
}

// Acquire implements Store.
func (b *Bolt) Acquire(ctx context.Context, key Key, holder Holder) error {
	return b.update(ctx, key, holder, func(bkt *bolt.Bucket, k []byte, cur *Holder, holder Holder) error {
		if cur != nil {
			if cur.Same(holder) {
				return nil
			}
			return &ErrLocked{Key: key, Holder: *cur}
		}
		v, err := json.Marshal(holder)
		if err != nil {
			return err
		}
		return bkt.Put(k, v)
	})
}

// Release implements Store.
func (b *Bolt) Release(ctx context.Context, key Key, holder Holder) error {
	return b.update(ctx, key, holder, func(bkt *bolt.Bucket, k []byte, cur *Holder, holder Holder) error {
		if cur == nil || !cur.Same(holder) {
			return nil
		}
		return bkt.Delete(k)
	})
}

// update runs fn in one write transaction with key's current holder, so
// the read and the change cannot interleave with another request's.
func (b *Bolt) update(ctx context.Context, key Key, holder Holder, fn func(bkt *bolt.Bucket, k []byte, cur *Holder, holder Holder) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := key.validate(); err != nil {
		return err
	}
	holder = normalise(key, holder, b.now())
	return b.db.Update(func(tx *bolt.Tx) error {
		bkt := tx.Bucket(bucketLocks)
		k := boltKey(key)
		cur, err := decode(bkt.Get(k))
		if err != nil {
			return fmt.Errorf("lock %s: %w", key.Env, err)
		}
		return fn(bkt, k, cur, holder)
	})
}

// ReleasePR implements Store.
func (b *Bolt) ReleasePR(ctx context.Context, repo string, pr int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	freed := []string{}
	err := b.db.Update(func(tx *bolt.Tx) error {
		bkt := tx.Bucket(bucketLocks)
		held, err := scan(bkt, repo)
		if err != nil {
			return err
		}
		for env, h := range held {
			if h.PR != pr {
				continue
			}
			if err := bkt.Delete(boltKey(Key{Repo: repo, Env: env})); err != nil {
				return err
			}
			freed = append(freed, env)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(freed)
	return freed, nil
}

// Holder implements Store.
func (b *Bolt) Holder(ctx context.Context, key Key) (*Holder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := key.validate(); err != nil {
		return nil, err
	}
	var h *Holder
	err := b.db.View(func(tx *bolt.Tx) error {
		var err error
		h, err = decode(tx.Bucket(bucketLocks).Get(boltKey(key)))
		if err != nil {
			return fmt.Errorf("lock %s: %w", key.Env, err)
		}
		return nil
	})
	return h, err
}

// List implements Store.
func (b *Bolt) List(ctx context.Context, repo string) (map[string]Holder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var held map[string]Holder
	err := b.db.View(func(tx *bolt.Tx) error {
		var err error
		held, err = scan(tx.Bucket(bucketLocks), repo)
		return err
	})
	return held, err
}

// Close implements Store. It releases the file lock.
func (b *Bolt) Close() error {
	return b.db.Close()
}

// boltKey is repo + NUL + env. GitHub treats repository names
// case-insensitively, so the repository is lowered; environment names are
// the user's own and kept as written.
func boltKey(k Key) []byte {
	return []byte(repoPrefix(k.Repo) + k.Env)
}

func repoPrefix(repo string) string {
	return strings.ToLower(repo) + "\x00"
}

// scan collects every lock in repo. Deleting while a bolt cursor walks is
// unsafe, so callers that delete do it after scanning.
func scan(bkt *bolt.Bucket, repo string) (map[string]Holder, error) {
	held := map[string]Holder{}
	prefix := []byte(repoPrefix(repo))
	c := bkt.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		env := string(k[len(prefix):])
		h, err := decode(v)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", env, err)
		}
		held[env] = *h
	}
	return held, nil
}

func decode(v []byte) (*Holder, error) {
	if v == nil {
		return nil, nil
	}
	var h Holder
	if err := json.Unmarshal(v, &h); err != nil {
		return nil, fmt.Errorf("corrupt lock record: %w", err)
	}
	return &h, nil
}
