package plan

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// requestCounter counts the requests an engine makes, by method.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
	next   http.RoundTripper
}

func (c *requestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[r.Method]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *requestCounter) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[method]
}

// countingEngine is an engine on f's cluster with opts whose requests
// counter counts.
func (f *fixture) countingEngine(t testing.TB, opts Options) (*Engine, *requestCounter) {
	t.Helper()
	counter := &requestCounter{counts: map[string]int{}}
	cfg := f.kube.Config()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter }
	engine, err := NewEngine(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return engine, counter
}

func (c *requestCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.counts
	c.counts = map[string]int{}
	return got
}

// A plan of objects slipway already applied costs a LIST per kind and
// namespace, and a dry-run for each object that may have changed: none
// when nothing did. New objects cost a dry-run each and no read. The
// inventory costs two GETs: the environment's parent and the legacy one
// (slipway-<env>, from before inventories were keyed by repository), which
// is adopted when found.
func TestRequestsPerObject(t *testing.T) {
	f := newFixture(t)
	const n = 20
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {k: v}\n", i))
	}
	objs := f.objects(strings.Join(docs, "---\n"))
	engine, counter := f.countingEngine(t, Options{})
	f.engine = engine
	f.plan(objs) // warms discovery
	counter.reset()

	p := f.plan(objs)
	if c := p.Counts(); c.Create != n {
		t.Fatalf("counts %+v", c)
	}
	// GETs: the inventory ConfigMaps, and one LIST of the 20 ConfigMaps
	// no inventory lists (see listThreshold), in place of a GET each for
	// those that exist.
	if got := counter.reset(); got[http.MethodPatch] != n || got[http.MethodGet] > 3 {
		t.Errorf("first plan: requests %v, want %d PATCH, the inventory GETs and one LIST", got, n)
	}

	f.apply(objs)
	counter.reset()
	p = f.plan(objs)
	if c := p.Counts(); c.Unchanged != n {
		t.Fatalf("counts %+v", c)
	}
	// GETs: the inventory ConfigMaps and one LIST of ConfigMaps, which
	// shows every object unchanged: no dry-run at all.
	if got := counter.reset(); got[http.MethodPatch] != 0 || got[http.MethodGet] > 3 {
		t.Errorf("steady state: requests %v, want no PATCH and 3 GET (inventory, legacy inventory, one LIST)", got)
	}

	// One changed object is the one dry-run.
	changed := f.objects(strings.Replace(strings.Join(docs, "---\n"), "name: cm-3}\ndata: {k: v}", "name: cm-3}\ndata: {k: w}", 1))
	p = f.plan(changed)
	if c := p.Counts(); c.Update != 1 || c.Unchanged != n-1 {
		t.Fatalf("counts %+v", c)
	}
	if got := counter.reset(); got[http.MethodPatch] != 1 || got[http.MethodGet] > 3 {
		t.Errorf("one change: requests %v, want 1 PATCH and 3 GET", got)
	}

	// verify: all dry-runs every object, as before the fast path.
	all := *f.env
	all.Plan.Verify = repoconfig.VerifyAll
	f.env = &all
	p = f.plan(objs)
	if c := p.Counts(); c.Unchanged != n {
		t.Fatalf("counts %+v", c)
	}
	if got := counter.reset(); got[http.MethodPatch] != n || got[http.MethodGet] > 3 {
		t.Errorf("verify all: requests %v, want %d PATCH and 3 GET (inventory, legacy inventory, one LIST)", got, n)
	}
}

// inFlight records the most requests an engine had in flight at once.
type inFlight struct {
	now, peak atomic.Int32
	next      http.RoundTripper
}

func (c *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond) // long enough for requests to overlap
	return c.next.RoundTrip(r)
}

// Two environments planned at once on one cluster share its budget: never
// more requests in flight than the budget allows, though each engine's own
// concurrency would allow many more.
func TestPlansShareTheClusterBudget(t *testing.T) {
	f := newFixture(t)
	const budget, n = 3, 40
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {k: v}\n", i))
	}
	objs := f.objects(strings.Join(docs, "---\n"))
	counter := &inFlight{}
	shared := NewBudget(budget)
	var engines [2]*Engine
	for i := range engines {
		cfg := f.kube.Config()
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter }
		e, err := NewEngine(cfg, Options{Budget: shared})
		if err != nil {
			t.Fatal(err)
		}
		engines[i] = e
	}
	var g errgroup.Group
	for i, e := range engines {
		env := &repoconfig.Environment{Name: fmt.Sprintf("env-%d", i), Namespace: f.ns}
		g.Go(func() error {
			p, err := e.Compute(f.ctx(), env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: objs})
			if err == nil && p.Counts().Create != n {
				err = fmt.Errorf("%s: counts %+v", env.Name, p.Counts())
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if peak := counter.peak.Load(); peak > budget || peak < 2 {
		t.Errorf("%d requests in flight at most, want between 2 and the budget, %d", peak, budget)
	}
}

// Objects another tool created are read by one LIST, not a GET each after
// their dry-run.
func TestAdoptionReadsByList(t *testing.T) {
	f := newFixture(t)
	const n = 20
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {k: v}\n", i))
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"k": "v"}}
		if _, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Create(t.Context(), cm, metav1.CreateOptions{FieldManager: "helm"}); err != nil {
			t.Fatal(err)
		}
	}
	objs := f.objects(strings.Join(docs, "---\n"))
	engine, counter := f.countingEngine(t, Options{})
	f.engine = engine
	f.plan(objs) // warms discovery
	counter.reset()
	p := f.plan(objs)
	if c := p.Counts(); c.Update != n || !p.Changes[0].LabelOnly {
		t.Fatalf("counts %+v, first change %+v", c, p.Changes[0])
	}
	if got := counter.reset(); got[http.MethodPatch] != n || got[http.MethodGet] > 3 {
		t.Errorf("requests %v, want %d PATCH, the inventory GETs and one LIST", got, n)
	}
}
