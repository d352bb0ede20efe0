package plan

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/internal/render"
)

// pathRecorder records the method and path of every request an engine
// makes.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
	next  http.RoundTripper
}

func (r *pathRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.paths = append(r.paths, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *pathRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.paths
	r.paths = nil
	return got
}

// A confined engine turns what admit refuses into errors on those objects
// and sends nothing about them, not even a dry-run; it refuses to delete a
// member admit refuses, and to plan at all when the inventory would be
// recorded where admit refuses.
func TestConfined(t *testing.T) {
	f := newFixture(t)
	f.apply(f.objects("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\n"))

	rec := &pathRecorder{}
	cfg := f.kube.Config()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec }
	engine, err := NewEngine(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	admit := func(ref Ref) error {
		switch {
		case ref.Namespace == "kube-system", ref.Kind == "ClusterRole", ref.Name == "old":
			return fmt.Errorf("%s is out of bounds", ref.Name)
		}
		return nil
	}
	f.engine = engine.Confined(admit)
	objs := f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: sneaky, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: sneaky-role}
`)
	p := f.plan(objs)
	t.Log(summary(p))
	wantAction(t, change(t, p, "ConfigMap", "fine"), Create)
	for _, name := range []string{"sneaky", "sneaky-role"} {
		ch := change(t, p, map[string]string{"sneaky": "ConfigMap", "sneaky-role": "ClusterRole"}[name], name)
		wantAction(t, ch, Error)
		if ch.Message != name+" is out of bounds" || ch.After != "" || ch.File != "test.yaml" {
			t.Errorf("refused %s: %+v", name, ch)
		}
	}
	old := change(t, p, "ConfigMap", "old")
	wantAction(t, old, Error)
	if old.Message != "not deleted: old is out of bounds" || old.Before != "" {
		t.Errorf("refused deletion: %+v", old)
	}
	for _, path := range rec.take() {
		if strings.Contains(path, "kube-system") || strings.Contains(path, "clusterroles") || strings.HasPrefix(path, "PATCH") && strings.HasSuffix(path, "/old") {
			t.Errorf("a refused object reached the cluster: %s", path)
		}
	}
	// The same engine unconfined still plans them: the bounds are the
	// confined copy's alone.
	f.engine = engine
	if p := f.plan(objs); change(t, p, "ClusterRole", "sneaky-role").Action != Create || change(t, p, "ConfigMap", "old").Action != Delete {
		t.Errorf("unconfined engine: %v", summary(p))
	}

	f.engine = engine.Confined(func(ref Ref) error {
		if ref.Namespace == f.ns {
			return fmt.Errorf("namespace %s is out of bounds", f.ns)
		}
		return nil
	})
	rec.take()
	if _, _, err := f.engine.ComputeWithObjects(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: objs}); err == nil ||
		!strings.Contains(err.Error(), "its inventory "+f.ns+"/"+InventoryName(f.repo, "staging")+" cannot be recorded: namespace "+f.ns+" is out of bounds") {
		t.Errorf("inventory in a refused namespace: %v", err)
	}
	if got := rec.take(); len(got) > 0 {
		t.Errorf("requests for a plan refused as a whole: %v", got)
	}
}

// Rendered objects the server config refuses are not read either: twenty
// of them in a refused namespace, enough for their own LIST, cause no
// request to that namespace at all.
func TestConfinedListsNothingRefused(t *testing.T) {
	f := newFixture(t)
	rec := &pathRecorder{}
	cfg := f.kube.Config()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec }
	engine, err := NewEngine(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.engine = engine.Confined(func(ref Ref) error {
		if ref.Namespace == "kube-system" {
			return fmt.Errorf("%s is out of bounds", ref.Namespace)
		}
		return nil
	})
	var docs []string
	for i := range 20 {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: kube-system}\n", i))
	}
	p := f.plan(f.objects(strings.Join(docs, "---\n")))
	if c := p.Counts(); c.Error != 20 {
		t.Fatalf("counts %+v, want 20 errors", c)
	}
	for _, path := range rec.take() {
		if strings.Contains(path, "/namespaces/kube-system/") {
			t.Errorf("request to the refused namespace: %s", path)
		}
	}
}
