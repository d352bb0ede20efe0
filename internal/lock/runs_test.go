package lock

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

func TestLocalRuns(t *testing.T) {
	testRuns(t, func(t *testing.T, replica string) Runs { return NewLocal(replica) })
}

func TestLeaseRuns(t *testing.T) {
	env := testenv.Get(t)
	testRuns(t, func(t *testing.T, replica string) Runs {
		return NewLeaseRuns(env.Client().CoordinationV1(), testenv.NewNamespace(t, env), replica, DefaultRunLease)
	})
}

// testRuns is the behaviour every Runs shows within one replica.
func testRuns(t *testing.T, open func(t *testing.T, replica string) Runs) {
	ctx := context.Background()
	begin := func(t *testing.T, r Runs, k Key, what string) func() {
		t.Helper()
		runCtx, end, err := r.Begin(ctx, k, what)
		if err != nil {
			t.Fatalf("Begin(%v): %v", k, err)
		}
		if runCtx.Err() != nil {
			t.Fatalf("Begin(%v) returned a finished context", k)
		}
		t.Cleanup(end)
		return end
	}
	refused := func(t *testing.T, r Runs, k Key, want Run) {
		t.Helper()
		_, _, err := r.Begin(ctx, k, "#2 at bbbbbbb")
		var running *ErrRunning
		if !errors.As(err, &running) {
			t.Fatalf("Begin(%v) = %v, want *ErrRunning", k, err)
		}
		if running.Run.Replica != want.Replica || running.Run.What != want.What || time.Since(running.Run.Since) > time.Minute {
			t.Errorf("Begin(%v) refused with %+v, want %+v about now", k, running.Run, want)
		}
	}
	first := Run{Replica: "replica-1", What: "#1 at aaaaaaa"}

	t.Run("one apply per environment", func(t *testing.T) {
		r := open(t, "replica-1")
		end := begin(t, r, key("staging"), first.What)
		refused(t, r, key("staging"), first)
		refused(t, r, Key{Repo: "ACME/App", Env: "staging"}, first)
		begin(t, r, key("production"), "#3")
		begin(t, r, key("Staging"), "#4")
		begin(t, r, Key{Repo: "acme/other", Env: "staging"}, "#5")
		end()
		end() // ending twice is harmless
		begin(t, r, key("staging"), "#2 at bbbbbbb")
	})
	t.Run("running", func(t *testing.T) {
		r := open(t, "replica-1")
		running := func(k Key) *Run {
			t.Helper()
			run, err := r.Running(ctx, k)
			if err != nil {
				t.Fatalf("Running(%v): %v", k, err)
			}
			return run
		}
		if got := running(key("staging")); got != nil {
			t.Fatalf("Running before Begin = %+v, want nil", got)
		}
		end := begin(t, r, key("staging"), first.What)
		if got := running(key("staging")); got == nil || got.Replica != first.Replica || got.What != first.What {
			t.Errorf("Running during the run = %+v, want %+v", got, first)
		}
		if got := running(key("production")); got != nil {
			t.Errorf("Running of another environment = %+v, want nil", got)
		}
		end()
		if got := running(key("staging")); got != nil {
			t.Errorf("Running after end = %+v, want nil", got)
		}
	})

	t.Run("message", func(t *testing.T) {
		r := open(t, "replica-1")
		begin(t, r, key("staging"), first.What)
		_, _, err := r.Begin(ctx, key("staging"), "#2")
		const want = "an apply of staging is running on replica replica-1 (#1 at aaaaaaa) since "
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Begin = %v, want it to start %q", err, want)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		r := open(t, "replica-1")
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := r.Begin(cancelled, key("staging"), "#1"); !errors.Is(err, context.Canceled) {
			t.Errorf("Begin with a cancelled context = %v, want context.Canceled", err)
		}
		begin(t, r, key("staging"), "#1")
	})
	t.Run("bad key", func(t *testing.T) {
		r := open(t, "replica-1")
		if _, _, err := r.Begin(ctx, Key{Repo: repo}, "#1"); err == nil {
			t.Error("Begin without an environment succeeded")
		}
	})
}

func TestLeaseRunsContendedAcrossReplicas(t *testing.T) {
	env := testenv.Get(t)
	ns := testenv.NewNamespace(t, env)
	const replicas = 8
	runs := make([]*LeaseRuns, replicas)
	for i := range runs {
		runs[i] = NewLeaseRuns(newClient(t, env).CoordinationV1(), ns, "replica-"+string(rune('a'+i)), DefaultRunLease)
	}
	errs := make([]error, replicas)
	ends := make([]func(), replicas)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, r := range runs {
		wg.Go(func() {
			<-start
			_, ends[i], errs[i] = r.Begin(context.Background(), key("staging"), "apply")
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("replicas %d and %d both began applying staging", winner, i)
			}
			winner = i
			t.Cleanup(ends[i])
		}
	}
	if winner < 0 {
		t.Fatalf("no replica began: %v", errs)
	}
	for i, err := range errs {
		var running *ErrRunning
		if i != winner && (!errors.As(err, &running) || running.Run.Replica != runs[winner].replica) {
			t.Errorf("replica %d: Begin = %v, want running on %s", i, err, runs[winner].replica)
		}
	}
}

// A replica that stops renewing (it died, or lost the API server) gives up
// its apply before its Lease expires, and then another replica takes over.
func TestLeaseRunsRenewAndExpire(t *testing.T) {
	env := testenv.Get(t)
	ns := testenv.NewNamespace(t, env)
	ctx := context.Background()
	const lease = 2 * time.Second
	dying := &testenv.CuttableLeases{LeasesGetter: newClient(t, env).CoordinationV1()}
	a := NewLeaseRuns(dying, ns, "replica-a", lease)
	b := NewLeaseRuns(newClient(t, env).CoordinationV1(), ns, "replica-b", lease)

	aCtx, aEnd, err := a.Begin(ctx, key("staging"), "#1")
	if err != nil {
		t.Fatal(err)
	}
	// Renewed: still refused well after one duration.
	time.Sleep(3 * lease)
	var running *ErrRunning
	if _, _, err := b.Begin(ctx, key("staging"), "#2"); !errors.As(err, &running) || running.Run.Replica != "replica-a" {
		t.Fatalf("after %s of renewals, Begin on b = %v, want running on replica-a", 3*lease, err)
	}
	if aCtx.Err() != nil {
		t.Fatalf("a's run ended while renewing: %v", context.Cause(aCtx))
	}

	dying.Cut.Store(true)
	cut := time.Now()
	var bEnd func()
	deadline := cut.Add(3 * lease)
	for {
		_, end, err := b.Begin(ctx, key("staging"), "#2")
		if err == nil {
			bEnd = end
			break
		}
		if !errors.As(err, &running) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("b still refused %s after a stopped renewing: %v", time.Since(cut), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("b took over %s after a was cut off", time.Since(cut).Round(10*time.Millisecond))
	defer bEnd()
	select {
	case <-aCtx.Done():
		if !errors.Is(context.Cause(aCtx), ErrRunLost) {
			t.Errorf("a's run ended with %v, want ErrRunLost", context.Cause(aCtx))
		}
	default:
		t.Error("b began while a's run still had a live context")
	}

	// a comes back and ends its run: b's must survive it.
	dying.Cut.Store(false)
	aEnd()
	l, err := env.Client().CoordinationV1().Leases(ns).Get(ctx, leaseName(kindRun, key("staging")), metav1.GetOptions{})
	if err != nil || *l.Spec.HolderIdentity != "replica-b" {
		t.Fatalf("after a ended its lapsed run: lease %v, %v; want b's", l, err)
	}
	bEnd()
	if _, err := env.Client().CoordinationV1().Leases(ns).Get(ctx, l.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after b ended, its Lease: %v, want it deleted", err)
	}
}

// A run whose replica died is lapsed: Lapsed names it (and only the
// repository's own), Clear forgets it, and neither touches a live run.
func TestLeaseRunsLapsed(t *testing.T) {
	env := testenv.Get(t)
	ns := testenv.NewNamespace(t, env)
	ctx := context.Background()
	dying := &testenv.CuttableLeases{LeasesGetter: newClient(t, env).CoordinationV1()}
	a := NewLeaseRuns(dying, ns, "replica-a", DefaultRunLease)
	b := NewLeaseRuns(newClient(t, env).CoordinationV1(), ns, "replica-b", DefaultRunLease)

	plan, other := key("plan@abc123/staging"), Key{Repo: "acme/other", Env: "staging"}
	for _, k := range []Key{plan, key("production"), other} {
		if _, _, err := a.Begin(ctx, k, "#1"); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := b.Lapsed(ctx, repo); err != nil || len(got) != 0 {
		t.Fatalf("Lapsed while a renews = %v, %v; want none", got, err)
	}
	if err := b.Clear(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if run, err := b.Running(ctx, plan); err != nil || run == nil {
		t.Fatalf("Clear removed a live run: Running = %v, %v", run, err)
	}

	// a dies: seen from a clock past the Leases' duration, its runs lapsed.
	dying.Cut.Store(true)
	b.now = func() time.Time { return time.Now().Add(2 * DefaultRunLease) }
	got, err := b.Lapsed(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range got {
		names = append(names, k.Repo+" "+k.Env)
	}
	if strings.Join(names, ",") != repo+" plan@abc123/staging,"+repo+" production" && strings.Join(names, ",") != repo+" production,"+repo+" plan@abc123/staging" {
		t.Fatalf("Lapsed = %v, want %s's plan and production runs only", names, repo)
	}
	if err := b.Clear(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client().CoordinationV1().Leases(ns).Get(ctx, leaseName(kindRun, plan), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Clear left the lapsed run's Lease: %v", err)
	}
	if got, err := b.Lapsed(ctx, repo); err != nil || len(got) != 1 || got[0] != key("production") {
		t.Errorf("Lapsed after Clear = %v, %v; want production only", got, err)
	}
}
