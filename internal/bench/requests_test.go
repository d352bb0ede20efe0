package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// verbCounter counts the requests that pass through it by API verb, as the
// API server's priority and fairness would see them: a dry-run PATCH, a
// PATCH, a LIST (a GET of a collection), a GET of one object.
type verbCounter struct {
	next   http.RoundTripper
	mu     sync.Mutex
	counts map[string]int
}

func (c *verbCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[verbOf(r)]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func verbOf(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPatch && q.Get("dryRun") == "All":
		return "dry-run PATCH"
	case r.Method == http.MethodGet && (q.Has("labelSelector") || q.Has("limit") || q.Has("continue")):
		return "LIST"
	case r.Method == http.MethodGet && !strings.Contains(r.URL.Path, "/namespaces/") && strings.Count(r.URL.Path, "/") <= 4:
		return "discovery GET"
	}
	return r.Method
}

func (c *verbCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.counts {
		n += k
	}
	return n
}

func (c *verbCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	verbs := make([]string, 0, len(c.counts))
	total := 0
	for v, n := range c.counts {
		verbs = append(verbs, fmt.Sprintf("%d %s", n, v))
		total += n
	}
	slices.Sort(verbs)
	return fmt.Sprintf("%d requests (%s)", total, strings.Join(verbs, ", "))
}

// countPlan plans w in-process, as `slipway plan` does once rendered, with
// every request counted, and returns the counts and the plan's time. A
// first plan warms discovery, so the counts are the plan's own.
func countPlan(b *testing.B, env *testenv.Env, w *workload, verify string) (*verbCounter, time.Duration, *plan.Plan) {
	b.Helper()
	counter := &verbCounter{counts: map[string]int{}}
	cfg := tuned(env)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter }
	engine, err := plan.NewEngine(cfg, plan.Options{})
	if err != nil {
		b.Fatal(err)
	}
	objects := make([]render.Object, len(w.objects))
	for i, u := range w.objects {
		objects[i] = render.Object{Object: u.DeepCopy(), File: "objects.yaml", Line: i + 1}
	}
	e := &repoconfig.Environment{Name: "bench", Namespace: w.namespace, Plan: repoconfig.Planning{Verify: verify}}
	compute := func() *plan.Plan {
		p, err := engine.Compute(context.Background(), e, plan.Basis{Repository: benchRepository, Commit: "bench"}, &render.Result{Objects: objects})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	compute()
	counter.mu.Lock()
	counter.counts = map[string]int{}
	counter.mu.Unlock()
	start := time.Now()
	p := compute()
	return counter, time.Since(start), p
}

func changesOf(p *plan.Plan) int {
	c := p.Counts()
	return c.Create + c.Update + c.Delete
}

// withoutLabels are the workload's objects as another tool would have
// created them: no ApplySet label.
func withoutLabels(objects []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objects))
	for i, u := range objects {
		out[i] = u.DeepCopy()
		out[i].SetLabels(nil)
	}
	return out
}
