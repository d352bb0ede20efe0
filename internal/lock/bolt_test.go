package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTestBolt(t *testing.T, path string) *Bolt {
	t.Helper()
	b, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBolt(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		return openTestBolt(t, filepath.Join(t.TempDir(), "slipway.db"))
	})
}

func TestBoltLocksSurviveRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slipway.db")
	since := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

	b, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Acquire(ctx, key("staging"), Holder{Repo: repo, PR: 7, Since: since}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = openTestBolt(t, path)
	h, err := b.Holder(ctx, key("staging"))
	if err != nil {
		t.Fatal(err)
	}
	if h == nil || h.PR != 7 || !h.Since.Equal(since) {
		t.Fatalf("after reopening, Holder = %+v, want #7 since %s", h, since)
	}
	var locked *ErrLocked
	if err := b.Acquire(ctx, key("staging"), pr(8)); !errors.As(err, &locked) || locked.Holder.PR != 7 {
		t.Errorf("after reopening, Acquire by #8 = %v, want locked by #7", err)
	}
}

func TestBoltSecondOpenTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slipway.db")
	openTestBolt(t, path)

	const timeout = 200 * time.Millisecond
	start := time.Now()
	b, err := openBolt(path, timeout)
	if err == nil {
		_ = b.Close()
		t.Fatal("second open of the same file succeeded, want a timeout")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("second open took %s, want about %s", took, timeout)
	}
	if !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("err = %v, want it to wrap bolt.ErrTimeout", err)
	}
	for _, want := range []string{path, "is another slipway running with the same store.path?"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to mention %q", err, want)
		}
	}
}

func TestBoltCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "slipway")
	path := filepath.Join(dir, "slipway.db")
	openTestBolt(t, path)

	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only remove bits, so anything beyond want is a leak.
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s has mode %o, want at most %o", p, got, want)
		}
	}
}

func TestBoltRejectsBadKeys(t *testing.T) {
	b := openTestBolt(t, filepath.Join(t.TempDir(), "slipway.db"))
	for _, k := range []Key{{Env: "staging"}, {Repo: repo}, {Repo: repo, Env: "a\x00b"}} {
		if err := b.Acquire(context.Background(), k, pr(1)); err == nil {
			t.Errorf("Acquire(%q) succeeded, want an error", k)
		}
	}
}
