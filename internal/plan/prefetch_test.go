package plan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/render"
)

// A plan whose render is slow reads the inventory meanwhile: members
// listed before the render answers are held whole (up to prefetchHold,
// then the LIST waits) and decided by the fast path once it does, so the
// plan, its digest and its requests are those of a plan made after the
// render.
func TestComputeRenderingReadsWhileRendering(t *testing.T) {
	f := newFixture(t)
	const n = 40
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {k: v}\n", i))
	}
	f.apply(f.objects(strings.Join(docs, "---\n")))
	changed := strings.Replace(strings.Join(docs, "---\n"), "name: cm-7}\ndata: {k: v}", "name: cm-7}\ndata: {k: w}", 1)

	engine, counter := f.countingEngine(t, Options{})
	basis := Basis{Repository: f.repo, Commit: "c0ffee"}
	want, _, err := engine.ComputeWithObjects(f.ctx(), f.env, basis, &render.Result{Objects: f.objects(changed)})
	if err != nil {
		t.Fatal(err)
	}
	counter.reset()

	defer func(hold int) { prefetchHold = hold }(prefetchHold)
	prefetchHold = 5 // most members wait for the render
	got, objs, err := engine.ComputeRendering(f.ctx(), f.env, basis, func(ctx context.Context) (*render.Result, error) {
		// The inventory is read and listed meanwhile, up to the hold.
		deadline := time.Now().Add(10 * time.Second)
		for counter.count(http.MethodGet) < 3 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // for its answer to reach the hold
		return &render.Result{Objects: f.objects(changed)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Counts(); c.Update != 1 || c.Unchanged != n-1 || got.Digest != want.Digest {
		t.Errorf("counts %+v, digest %s; want 1 update, %d unchanged, digest %s", c, got.Digest, n-1, want.Digest)
	}
	if len(objs) != n {
		t.Errorf("%d objects to apply, want %d", len(objs), n)
	}
	// Members held whole went through the fast path all the same: one
	// dry-run, for the changed object.
	if reqs := counter.reset(); reqs[http.MethodPatch] != 1 || reqs[http.MethodGet] != 3 {
		t.Errorf("requests %v, want 1 PATCH and 3 GET (inventory, legacy inventory, one LIST)", reqs)
	}

	// A render that fails is the plan's error, as it is, and the reads
	// stop with it.
	renderErr := errors.New("deploy/web.yaml:3: bad indentation")
	_, _, err = engine.ComputeRendering(f.ctx(), f.env, basis, func(context.Context) (*render.Result, error) { return nil, renderErr })
	if err != renderErr {
		t.Errorf("error %v, want the render's", err)
	}
}
