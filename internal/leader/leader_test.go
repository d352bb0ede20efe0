package leader

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
	"github.com/slipwayhq/slipway/internal/testkit/world"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{})) }

const lease = 3 * time.Second

func TestAloneLeadsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		Alone{}.Run(ctx, func(ctx context.Context) { close(ran); <-ctx.Done() })
	}()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("fn did not run")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestIdentity(t *testing.T) {
	host, _ := os.Hostname()
	a, b := Identity(), Identity()
	if a == b || !strings.HasPrefix(a, host+"-") {
		t.Errorf("identities %q, %q: want distinct, starting with the host name %q", a, b, host)
	}
}

// candidate is one replica campaigning in a test: it counts its terms and
// checks that no two replicas ever lead at once.
type candidate struct {
	name    string
	client  *testenv.CuttableLeases
	cancel  context.CancelFunc
	done    chan struct{}
	terms   atomic.Int32
	leading atomic.Bool
}

type field struct {
	t       *testing.T
	ns      string
	env     *testenv.Env
	leaders atomic.Int32 // replicas in fn right now
}

func (f *field) campaign(name string) *candidate {
	c := &candidate{name: name, done: make(chan struct{})}
	client, err := kubernetes.NewForConfig(f.env.Config())
	if err != nil {
		f.t.Fatal(err)
	}
	c.client = &testenv.CuttableLeases{LeasesGetter: client.CoordinationV1()}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	e := NewLease(c.client, f.ns, name, lease, zerolog.New(zerolog.NewTestWriter(f.t)))
	go func() {
		defer close(c.done)
		e.Run(ctx, func(ctx context.Context) {
			if n := f.leaders.Add(1); n > 1 {
				f.t.Errorf("%s leads while %d other replica(s) do", name, n-1)
			}
			c.terms.Add(1)
			c.leading.Store(true)
			<-ctx.Done()
			c.leading.Store(false)
			f.leaders.Add(-1)
		})
	}()
	f.t.Cleanup(func() { c.stop(f.t) })
	return c
}

func (c *candidate) stop(t *testing.T) {
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(2 * lease):
		t.Errorf("%s: Run did not return %s after its context ended", c.name, 2*lease)
	}
}

func (f *field) waitFor(what string, within time.Duration, cond func() bool) time.Duration {
	f.t.Helper()
	start := time.Now()
	world.Eventually(f.t, within, what, cond)
	return time.Since(start)
}

func (f *field) holder() string {
	l, err := f.env.Client().CoordinationV1().Leases(f.ns).Get(context.Background(), LeaseName, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func TestLeaseOneLeaderAtATime(t *testing.T) {
	env := testenv.Get(t)
	f := &field{t: t, env: env, ns: testenv.NewNamespace(t, env)}

	a := f.campaign("replica-a")
	f.waitFor("a leads", 2*lease, a.leading.Load)
	b := f.campaign("replica-b")
	time.Sleep(2 * lease)
	if b.terms.Load() != 0 || !a.leading.Load() || f.holder() != "replica-a" {
		t.Fatalf("after %s: a leading %v, b terms %d, lease held by %q", 2*lease, a.leading.Load(), b.terms.Load(), f.holder())
	}

	// A replica shutting down hands over at once: it releases the Lease
	// after its fn has returned, rather than letting it expire.
	a.stop(t)
	took := f.waitFor("b leads after a stopped", lease, b.leading.Load)
	t.Logf("b led %s after a stopped", took.Round(10*time.Millisecond))
	if f.holder() != "replica-b" {
		t.Errorf("lease held by %q, want replica-b", f.holder())
	}
}

// A leader cut off from the API server stops its work before its Lease
// expires; another replica then leads; the first, back, leads again in a
// new term when it can.
func TestLeaseLostLeadership(t *testing.T) {
	env := testenv.Get(t)
	f := &field{t: t, env: env, ns: testenv.NewNamespace(t, env)}

	a := f.campaign("replica-a")
	f.waitFor("a leads", 2*lease, a.leading.Load)
	b := f.campaign("replica-b")

	a.client.Cut.Store(true)
	f.waitFor("a stops leading once cut off", 2*lease, func() bool { return !a.leading.Load() })
	f.waitFor("b leads after a's lease expired", 3*lease, b.leading.Load)

	a.client.Cut.Store(false)
	time.Sleep(lease)
	if a.leading.Load() || a.terms.Load() != 1 {
		t.Fatalf("a back online while b leads: leading %v after %d terms", a.leading.Load(), a.terms.Load())
	}
	b.stop(t)
	f.waitFor("a leads again", 2*lease, a.leading.Load)
	if got := a.terms.Load(); got != 2 {
		t.Errorf("a ran fn %d times, want 2 (one per term)", got)
	}
}
