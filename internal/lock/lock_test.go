package lock

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testStore is the behaviour every Store must show. Each store's test runs
// it with a function that opens a fresh, empty store (closed by the caller
// through t.Cleanup if needed); the Kubernetes Lease store will run it too.
func testStore(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Table", func(t *testing.T) { testStoreTable(t, open) })
	t.Run("ReacquireKeepsSince", func(t *testing.T) { testReacquireKeepsSince(t, open(t)) })
	t.Run("ErrLockedMessage", func(t *testing.T) { testErrLockedMessage(t, open(t)) })
	t.Run("ConcurrentAcquire", func(t *testing.T) { testConcurrentAcquire(t, open(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelledContext(t, open(t)) })
}

const repo = "acme/app"

func pr(n int) Holder { return Holder{Repo: repo, PR: n} }

func key(env string) Key { return Key{Repo: repo, Env: env} }

// step is one call on the store and what it must answer.
type step struct {
	acquire, release Key
	holder           Holder
	releasePR        int
	lockedBy         int      // acquire: PR named by *ErrLocked, 0 for success
	freed            []string // releasePR: environments freed
}

func testStoreTable(t *testing.T, open func(t *testing.T) Store) {
	cases := []struct {
		name  string
		steps []step
		want  map[string]int // env → PR holding it in repo afterwards
	}{
		{"acquire a free environment", []step{
			{acquire: key("staging"), holder: pr(1)},
		}, map[string]int{"staging": 1}},
		{"re-acquire by the holder succeeds", []step{
			{acquire: key("staging"), holder: pr(1)},
			{acquire: key("staging"), holder: pr(1)},
		}, map[string]int{"staging": 1}},
		{"acquire by another pull request is refused", []step{
			{acquire: key("staging"), holder: pr(1)},
			{acquire: key("staging"), holder: pr(2), lockedBy: 1},
		}, map[string]int{"staging": 1}},
		{"environments lock independently", []step{
			{acquire: key("staging"), holder: pr(1)},
			{acquire: key("production"), holder: pr(2)},
		}, map[string]int{"staging": 1, "production": 2}},
		{"release by a non-holder is a no-op", []step{
			{acquire: key("staging"), holder: pr(1)},
			{release: key("staging"), holder: pr(2)},
		}, map[string]int{"staging": 1}},
		{"release by the same PR number of another repository is a no-op", []step{
			{acquire: key("staging"), holder: pr(1)},
			{release: key("staging"), holder: Holder{Repo: "acme/other", PR: 1}},
		}, map[string]int{"staging": 1}},
		{"release of a free environment is a no-op", []step{
			{release: key("staging"), holder: pr(1)},
		}, map[string]int{}},
		{"release by the holder frees it for others", []step{
			{acquire: key("staging"), holder: pr(1)},
			{release: key("staging"), holder: pr(1)},
			{acquire: key("staging"), holder: pr(2)},
		}, map[string]int{"staging": 2}},
		{"ReleasePR frees only that PR's locks, sorted", []step{
			{acquire: key("staging"), holder: pr(1)},
			{acquire: key("dev"), holder: pr(1)},
			{acquire: key("production"), holder: pr(2)},
			{acquire: Key{Repo: "acme/other", Env: "qa"}, holder: Holder{Repo: "acme/other", PR: 1}},
			{releasePR: 1, freed: []string{"dev", "staging"}},
		}, map[string]int{"production": 2}},
		{"ReleasePR with nothing held frees nothing", []step{
			{acquire: key("staging"), holder: pr(2)},
			{releasePR: 1, freed: []string{}},
		}, map[string]int{"staging": 2}},
		{"repository names are case-insensitive", []step{
			{acquire: Key{Repo: "Acme/App", Env: "staging"}, holder: Holder{Repo: "Acme/App", PR: 1}},
			{acquire: Key{Repo: "ACME/APP", Env: "staging"}, holder: Holder{Repo: "ACME/APP", PR: 2}, lockedBy: 1},
			{acquire: key("staging"), holder: pr(1)},
		}, map[string]int{"staging": 1}},
		{"environment names are case-sensitive", []step{
			{acquire: key("staging"), holder: pr(1)},
			{acquire: key("Staging"), holder: pr(2)},
		}, map[string]int{"staging": 1, "Staging": 2}},
		{"a repository's list excludes similarly named repositories", []step{
			{acquire: Key{Repo: "acme/app2", Env: "staging"}, holder: Holder{Repo: "acme/app2", PR: 1}},
			{acquire: Key{Repo: "acme/ap", Env: "p"}, holder: Holder{Repo: "acme/ap", PR: 1}},
			{acquire: key("dev"), holder: pr(3)},
		}, map[string]int{"dev": 3}},
		{"an empty holder repository means the key's", []step{
			{acquire: key("staging"), holder: Holder{PR: 1}},
			{acquire: key("staging"), holder: pr(1)},
			{release: key("staging"), holder: Holder{PR: 1}},
		}, map[string]int{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			for i, st := range tc.steps {
				switch {
				case st.acquire != Key{}:
					err := s.Acquire(ctx, st.acquire, st.holder)
					var locked *ErrLocked
					switch {
					case st.lockedBy == 0 && err != nil:
						t.Fatalf("step %d: Acquire(%v, #%d) = %v, want success", i, st.acquire, st.holder.PR, err)
					case st.lockedBy != 0 && !errors.As(err, &locked):
						t.Fatalf("step %d: Acquire(%v, #%d) = %v, want *ErrLocked", i, st.acquire, st.holder.PR, err)
					case st.lockedBy != 0 && locked.Holder.PR != st.lockedBy:
						t.Fatalf("step %d: locked by #%d, want #%d", i, locked.Holder.PR, st.lockedBy)
					}
				case st.release != Key{}:
					if err := s.Release(ctx, st.release, st.holder); err != nil {
						t.Fatalf("step %d: Release: %v", i, err)
					}
				default:
					freed, err := s.ReleasePR(ctx, repo, st.releasePR)
					if err != nil {
						t.Fatalf("step %d: ReleasePR: %v", i, err)
					}
					if len(freed) != len(st.freed) || (len(freed) > 0 && !reflect.DeepEqual(freed, st.freed)) {
						t.Fatalf("step %d: ReleasePR freed %q, want %q", i, freed, st.freed)
					}
				}
			}
			assertLocks(t, s, tc.want)
		})
	}
}

// assertLocks checks List and Holder agree with want for repo.
func assertLocks(t *testing.T, s Store, want map[string]int) {
	t.Helper()
	ctx := context.Background()
	held, err := s.List(ctx, repo)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	got := map[string]int{}
	for env, h := range held {
		got[env] = h.PR
		if !strings.EqualFold(h.Repo, repo) || h.Since.IsZero() {
			t.Errorf("List[%s] = %+v, want repo %s and a time", env, h, repo)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	for _, env := range []string{"staging", "Staging", "production", "dev"} {
		h, err := s.Holder(ctx, key(env))
		if err != nil {
			t.Fatalf("Holder(%s): %v", env, err)
		}
		wantPR, held := want[env]
		switch {
		case !held && h != nil:
			t.Errorf("Holder(%s) = #%d, want nobody", env, h.PR)
		case held && (h == nil || h.PR != wantPR):
			t.Errorf("Holder(%s) = %+v, want #%d", env, h, wantPR)
		}
	}
}

func testReacquireKeepsSince(t *testing.T, s Store) {
	ctx := context.Background()
	first := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := s.Acquire(ctx, key("staging"), Holder{Repo: repo, PR: 1, Since: first}); err != nil {
		t.Fatal(err)
	}
	if err := s.Acquire(ctx, key("staging"), Holder{Repo: repo, PR: 1, Since: first.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h, err := s.Holder(ctx, key("staging"))
	if err != nil || h == nil {
		t.Fatalf("Holder = %v, %v", h, err)
	}
	if !h.Since.Equal(first) {
		t.Errorf("Since = %s after re-acquire, want the original %s", h.Since, first)
	}

	before := time.Now().Add(-time.Second)
	if err := s.Acquire(ctx, key("dev"), pr(1)); err != nil {
		t.Fatal(err)
	}
	h, err = s.Holder(ctx, key("dev"))
	if err != nil || h == nil {
		t.Fatalf("Holder = %v, %v", h, err)
	}
	if h.Since.Before(before) || h.Since.After(time.Now().Add(time.Second)) {
		t.Errorf("Since = %s, want about now when the holder gives none", h.Since)
	}
}

func testErrLockedMessage(t *testing.T, s Store) {
	ctx := context.Background()
	since := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := s.Acquire(ctx, key("staging"), Holder{Repo: repo, PR: 12, Since: since}); err != nil {
		t.Fatal(err)
	}
	err := s.Acquire(ctx, key("staging"), pr(13))
	const want = "environment staging is locked by pull request #12 since 2024-05-01T12:00:00Z"
	if err == nil || err.Error() != want {
		t.Errorf("Acquire = %v, want %q", err, want)
	}
}

func testConcurrentAcquire(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Acquire(ctx, key("staging"), pr(i+1))
		})
	}
	close(start)
	wg.Wait()

	winner := 0
	for i, err := range errs {
		if err == nil {
			if winner != 0 {
				t.Fatalf("both #%d and #%d acquired the lock", winner, i+1)
			}
			winner = i + 1
		}
	}
	if winner == 0 {
		t.Fatal("nobody acquired the lock")
	}
	for i, err := range errs {
		if i+1 == winner {
			continue
		}
		var locked *ErrLocked
		if !errors.As(err, &locked) {
			t.Fatalf("#%d: Acquire = %v, want *ErrLocked", i+1, err)
		}
		if locked.Holder.PR != winner {
			t.Errorf("#%d: locked by #%d, want the winner #%d", i+1, locked.Holder.PR, winner)
		}
	}
	if h, err := s.Holder(ctx, key("staging")); err != nil || h == nil || h.PR != winner {
		t.Errorf("Holder = %+v, %v; want #%d", h, err, winner)
	}
}

func testCancelledContext(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Acquire(ctx, key("staging"), pr(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire with a cancelled context = %v, want context.Canceled", err)
	}
	if h, err := s.Holder(context.Background(), key("staging")); err != nil || h != nil {
		t.Errorf("Holder = %+v, %v; want nobody", h, err)
	}
}
