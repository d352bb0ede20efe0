package apply

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/recovery"
)

// wait waits, up to env's wait, for every applied object to become ready
// as kstatus judges it (a Deployment rolled out, a Job complete, a CRD
// established). Objects that do not are unhealthy, with kstatus's message.
func (r *run) wait(ctx context.Context) {
	timeout := r.env.WaitTimeout()
	if timeout <= 0 {
		return
	}
	var slots []int
	for i, u := range r.payload {
		if u != nil {
			slots = append(slots, i)
		}
	}
	msg, ok := r.awaitReady(ctx, slots, timeout, pollInterval)
	switch {
	case ok:
	case ctx.Err() != nil:
		r.fail("apply cancelled (%v) while waiting for the objects to become healthy; they were applied", ctx.Err())
	default:
		r.fail("%s", msg)
	}
}

// awaitReady waits, with ssa's WaitForSetWithContext, for the applied
// objects among slots to become ready. When they do not, it marks those
// kstatus does not find Current unhealthy and returns a message naming
// them; when ctx ends first, it returns false and no message.
func (r *run) awaitReady(ctx context.Context, slots []int, timeout, interval time.Duration) (string, bool) {
	var (
		waited  []int
		applied []*unstructured.Unstructured
	)
	for _, i := range slots {
		if r.payload[i] != nil && isApplied(r.res.Objects[i].Outcome) {
			waited = append(waited, i)
			applied = append(applied, r.payload[i])
		}
	}
	if len(applied) == 0 {
		return "", true
	}
	err := r.m.WaitForSetWithContext(ctx, object.UnstructuredSetToObjMetadataSet(applied), ssa.WaitOptions{
		Interval: interval,
		Timeout:  timeout,
		// A Failed object will not recover by waiting longer.
		FailFast:    true,
		JobsWithTTL: utils.ExtractJobsWithTTL(applied),
	})
	if err == nil {
		return "", true
	}
	if ctx.Err() != nil {
		return "", false
	}
	unhealthy := r.diagnose(ctx, waited)
	if len(unhealthy) == 0 {
		// Ready by the time we looked: the wait's own words are all there is.
		return fmt.Sprintf("not ready after %s: %v", duration(timeout), err), false
	}
	for _, h := range unhealthy {
		r.set(h.slot, Unhealthy, h.message)
	}
	first := unhealthy[0]
	names := r.planned[first.slot].Ref.String()
	if more := len(unhealthy) - 1; more > 0 {
		names += fmt.Sprintf(" and %d more", more)
	}
	if first.failed {
		return fmt.Sprintf("%s failed: %s", names, first.message), false
	}
	return fmt.Sprintf("%s not healthy after %s: %s", names, duration(timeout), first.message), false
}

func isApplied(o Outcome) bool {
	return o == Created || o == Configured || o == Adopted || o == Unchanged
}

type health struct {
	slot    int
	message string
	failed  bool // kstatus says Failed, not merely not ready yet
}

// diagnose reads the objects in slots and returns, in plan order, those
// kstatus does not find Current, with its status and message.
func (r *run) diagnose(ctx context.Context, slots []int) []health {
	found := make([]*health, len(slots))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	var caught recovery.Caught
	for n, i := range slots {
		g.Go(func() error {
			defer caught.Recover()
			want := r.payload[i]
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(want.GroupVersionKind())
			err := r.m.Client().Get(gctx, client.ObjectKeyFromObject(want), live)
			switch {
			case apierrors.IsNotFound(err):
				found[n] = &health{slot: i, message: "not found: it was deleted after it was applied"}
				return nil
			case err != nil:
				found[n] = &health{slot: i, message: fmt.Sprintf("status unknown: %v", err)}
				return nil
			}
			st, err := status.Compute(live)
			if err != nil {
				found[n] = &health{slot: i, message: fmt.Sprintf("status unknown: %v", err)}
				return nil
			}
			if st.Status != status.CurrentStatus {
				found[n] = &health{slot: i, message: statusMessage(st), failed: st.Status == status.FailedStatus}
			}
			return nil
		})
	}
	_ = g.Wait() // every goroutine records its own failure
	caught.Repanic()
	var out []health
	for _, h := range found {
		if h != nil {
			out = append(out, *h)
		}
	}
	return out
}

func statusMessage(st *status.Result) string {
	if st.Message == "" {
		return string(st.Status)
	}
	return fmt.Sprintf("%s: %s", st.Status, st.Message)
}

// duration prints d as people write it: 5m, 1m30s, 30s.
func duration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
