package lock

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// Lease tests need only a kube-apiserver; the bolt tests start nothing.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{})) }

// newClient is a client of its own, as another replica would have.
func newClient(t *testing.T, env *testenv.Env) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLeases(t *testing.T) {
	env := testenv.Get(t)
	testStore(t, func(t *testing.T) Store {
		return NewLeases(env.Client().CoordinationV1(), testenv.NewNamespace(t, env))
	})
}

// Replicas have a client each; the lock is decided by the API server alone.
func TestLeasesContendedAcrossReplicas(t *testing.T) {
	env := testenv.Get(t)
	ns := testenv.NewNamespace(t, env)
	ctx := context.Background()
	const replicas = 8
	stores := make([]*Leases, replicas)
	for i := range stores {
		stores[i] = NewLeases(newClient(t, env).CoordinationV1(), ns)
	}
	for round := range 3 {
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, s := range stores {
			wg.Go(func() {
				<-start
				errs[i] = s.Acquire(ctx, key("staging"), pr(100*round+i+1))
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("round %d: replicas %d and %d both acquired staging", round, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody acquired staging: %v", round, errs)
		}
		wantPR := 100*round + winner + 1
		for i, err := range errs {
			var locked *ErrLocked
			if i != winner && (!errors.As(err, &locked) || locked.Holder.PR != wantPR) {
				t.Errorf("round %d: replica %d: Acquire = %v, want locked by #%d", round, i, err, wantPR)
			}
		}
		// Another replica releases it on the winner's behalf (as /unlock
		// handled elsewhere would), freeing it for the next round.
		if err := stores[(winner+1)%replicas].Release(ctx, key("staging"), pr(wantPR)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLeaseNames(t *testing.T) {
	long := strings.Repeat("very-long-name", 10)
	cases := []struct {
		name string
		a, b Key
		same bool
	}{
		{"repository case does not matter", Key{"Acme/App", "staging"}, Key{"acme/app", "staging"}, true},
		{"environment case does", Key{"acme/app", "Staging"}, Key{"acme/app", "staging"}, false},
		{"the repo/env split matters", Key{"acme/app-x", "y"}, Key{"acme/app", "x-y"}, false},
		{"names cut short still differ", Key{"acme/" + long, long + "1"}, Key{"acme/" + long, long + "2"}, false},
		{"symbols only", Key{"_/_", "ü"}, Key{"_/_", "ö"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, kind := range []string{kindLock, kindRun} {
				na, nb := leaseName(kind, tc.a), leaseName(kind, tc.b)
				for _, n := range []string{na, nb} {
					if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
						t.Errorf("%q is not a DNS label: %v", n, errs)
					}
				}
				if (na == nb) != tc.same {
					t.Errorf("%s: %q and %q: same = %v, want %v", kind, na, nb, na == nb, tc.same)
				}
			}
		})
	}
	if got := leaseName(kindLock, Key{"acme/shop", "staging"}); !strings.HasPrefix(got, "slipway-lock-acme-shop-staging-") {
		t.Errorf("lock lease name %q does not read as acme/shop staging", got)
	}
	if leaseName(kindLock, key("staging")) == leaseName(kindRun, key("staging")) {
		t.Error("an environment's lock and run share a Lease")
	}
}

// What kubectl get lease shows, and what the store does with Leases it did
// not write.
func TestLeasesRecordAndForeignLeases(t *testing.T) {
	env := testenv.Get(t)
	ns := testenv.NewNamespace(t, env)
	ctx := context.Background()
	leases := env.Client().CoordinationV1().Leases(ns)
	s := NewLeases(env.Client().CoordinationV1(), ns)

	if err := s.Acquire(ctx, key("staging"), pr(7)); err != nil {
		t.Fatal(err)
	}
	l, err := leases.Get(ctx, leaseName(kindLock, key("staging")), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Spec.HolderIdentity; got == nil || *got != "acme/app#7" {
		t.Errorf("holderIdentity = %v, want acme/app#7", got)
	}
	if l.Spec.LeaseDurationSeconds != nil || l.Spec.AcquireTime == nil {
		t.Errorf("spec = %+v, want an acquireTime and no duration: a pull request's lock does not expire", l.Spec)
	}
	if l.Labels[labelManagedBy] != "slipway" || l.Annotations[annotationEnv] != "staging" {
		t.Errorf("labels %v annotations %v", l.Labels, l.Annotations)
	}

	// A Lease with this key's name but another key's record (a hash
	// collision, or made by hand) is neither read as the lock nor taken.
	foreign := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{
		Name:        leaseName(kindLock, key("production")),
		Annotations: map[string]string{annotationRepo: "acme/other", annotationEnv: "production"},
	}}
	if _, err := leases.Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"Acquire": s.Acquire(ctx, key("production"), pr(8)),
		"Holder":  func() error { _, err := s.Holder(ctx, key("production")); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), foreign.Name) || !strings.Contains(err.Error(), "acme/other") {
			t.Errorf("%s on a foreign Lease = %v, want an error naming it and its key", what, err)
		}
	}

	if err := leases.Delete(ctx, foreign.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// A Lease emptied of its holder is free.
	empty := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: leaseName(kindLock, key("dev"))}}
	if _, err := leases.Create(ctx, empty, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Holder(ctx, key("dev")); err != nil || h != nil {
		t.Errorf("Holder of an empty Lease = %+v, %v; want nobody", h, err)
	}
	if err := s.Acquire(ctx, key("dev"), pr(9)); err != nil {
		t.Fatalf("Acquire of an empty Lease: %v", err)
	}
	assertLocks(t, s, map[string]int{"staging": 7, "dev": 9})
}
