package plan

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/render"
)

const benchObjects = 300

// benchFixture is an environment of benchObjects objects (Deployments,
// Services, ConfigMaps, Secrets), half of them applied, one in ten of those
// edited since: a typical plan for a pull request.
func benchFixture(b *testing.B) (*fixture, []render.Object) {
	if testing.Short() {
		b.Skip("needs the test cluster")
	}
	f := newFixture(b)
	var docs []string
	for i := range benchObjects / 4 {
		docs = append(docs,
			replaceName(deployment, fmt.Sprintf("web-%d", i)),
			// Headless: the test cluster's /24 of Service IPs would run out.
			fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: web-%d}\nspec:\n  clusterIP: None\n  selector: {app: web-%d}\n  ports: [{port: 80}]\n", i, i),
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-%d}\ndata: {k: v}\n", i),
			fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: web-%d}\nstringData: {k: v}\n", i),
		)
	}
	objs := f.objects(strings.Join(docs, "---\n"))
	f.apply(objs[:len(objs)/2])
	for i := 0; i < len(objs)/2; i += 10 {
		objs[i].Object.SetLabels(map[string]string{"edited": "yes"})
	}
	return f, objs
}

func BenchmarkCompute(b *testing.B) {
	f, objs := benchFixture(b)
	rendered := &render.Result{Objects: objs}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		p, err := f.engine.Compute(ctx, f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, rendered)
		if err != nil {
			b.Fatal(err)
		}
		if c := p.Counts(); c.Error > 0 || c.Create != benchObjects/2 {
			b.Fatalf("counts %+v", c)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchObjects, "ns/object")
}

// BenchmarkBareRequests is the floor BenchmarkCompute is measured against:
// what `kubectl diff --server-side` sends for the same objects, one GET and
// one dry-run apply per object, with the same concurrency and no work on the
// answers.
func BenchmarkBareRequests(b *testing.B) {
	f, objs := benchFixture(b)
	c := f.engine.client
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		g, ctx := errgroup.WithContext(ctx)
		g.SetLimit(DefaultConcurrency)
		for _, o := range objs {
			g.Go(func() error {
				u := o.Object.DeepCopy()
				u.SetNamespace(f.ns)
				live := &unstructured.Unstructured{}
				live.SetGroupVersionKind(u.GroupVersionKind())
				if err := c.Get(ctx, client.ObjectKeyFromObject(u), live); client.IgnoreNotFound(err) != nil {
					return err
				}
				return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
					client.DryRunAll, client.ForceOwnership, client.FieldOwner(DefaultFieldManager))
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchObjects, "ns/object")
}
