package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/release"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/plan"
)

// Timings of hooks.
const (
	// defaultHookTimeout bounds each hook's run (and each deletion of its
	// previous object) when the environment sets no wait: a hook must end
	// before what follows it is applied, whatever wait says. It is helm's
	// default --timeout.
	defaultHookTimeout = 5 * time.Minute
	hookPollInterval   = 250 * time.Millisecond
	deletePollInterval = 250 * time.Millisecond
)

// hookTimeout is how long one hook may run: the environment's wait, or
// defaultHookTimeout when it has none.
func (r *run) hookTimeout() time.Duration {
	if t := r.env.WaitTimeout(); t > 0 {
		return t
	}
	return defaultHookTimeout
}

// takeHook files u as the payload of the plan's hooks of its identity,
// reporting whether it is one.
func (r *run) takeHook(u *unstructured.Unstructured) bool {
	k := keyOf(u)
	if _, taken := r.hookPayload[k]; taken {
		return false
	}
	for _, h := range r.p.Hooks {
		if keyOfRef(h.Ref) == k {
			r.hookPayload[k] = u
			return true
		}
	}
	return false
}

// runHooks runs the plan's hooks of phase in order, as helm's execHook
// does: for each, delete its previous object when its policy says
// before-hook-creation, apply it, and wait for a Job or Pod to complete. A
// hook that fails stops the run (nothing after it is applied) and is
// deleted if its policy says hook-failed. Once all have succeeded, or one
// has failed, those that succeeded and say hook-succeeded are deleted. It
// reports whether every hook succeeded.
func (r *run) runHooks(ctx context.Context, phase plan.HookPhase) bool {
	var ran []int
	ok := true
	for i, h := range r.p.Hooks {
		if h.Phase != phase {
			continue
		}
		if !r.runHook(ctx, i) {
			ok = false
			break
		}
		ran = append(ran, i)
	}
	for n := len(ran) - 1; n >= 0; n-- {
		i := ran[n]
		if !r.p.Hooks[i].HasDeletePolicy(string(release.HookSucceeded)) || isCRD(r.p.Hooks[i].Ref) {
			continue
		}
		if err := r.deleteHook(ctx, i); err != nil {
			r.res.Hooks[i].Message += fmt.Sprintf("; deleting it (hook-succeeded) failed: %v", err)
			if ok {
				r.stopAt(ctx, "deleting a succeeded hook failed", "Helm %s hook %s: delete it (hook-succeeded): %v", r.p.Hooks[i].Event, r.p.Hooks[i].Ref, err)
				ok = false
			}
			continue
		}
		r.res.Hooks[i].Message += "; deleted (hook-succeeded)"
	}
	return ok
}

// runHook runs hook i and records its outcome.
func (r *run) runHook(ctx context.Context, i int) bool {
	h := r.p.Hooks[i]
	u := r.hookPayload[keyOfRef(h.Ref)]
	failed := func(what string, err error) bool {
		if ctx.Err() != nil {
			r.setHook(i, NotApplied, "not finished: the apply was cancelled while it ran")
			r.cancelled(ctx)
			return false
		}
		msg := fmt.Sprintf("%s: %v", what, err)
		if h.HasDeletePolicy(string(release.HookFailed)) && !isCRD(h.Ref) {
			if derr := r.deleteHook(ctx, i); derr != nil {
				msg += fmt.Sprintf("; deleting it (hook-failed) failed: %v", derr)
			} else {
				msg += "; deleted (hook-failed)"
			}
		}
		r.setHook(i, Failed, h.Event+" hook: "+msg)
		r.stopAt(ctx, fmt.Sprintf("the Helm %s hook %s failed", h.Event, h.Ref),
			"Helm %s hook %s failed, so nothing after it was applied: %s", h.Event, h.Ref, msg)
		return false
	}
	// helm never deletes a CRD hook, whatever its policy: the cascade
	// would take every object of its kinds.
	if h.HasDeletePolicy(string(release.HookBeforeHookCreation)) && !isCRD(h.Ref) {
		if err := r.deleteHook(ctx, i); err != nil {
			return failed("delete its previous object (before-hook-creation)", err)
		}
	}
	if err := r.sendObject(ctx, u); err != nil {
		return failed("the cluster refused it", err)
	}
	if !runsToCompletion(h.Ref) {
		r.setHook(i, Succeeded, h.Event+" hook: applied")
		return true
	}
	if err := r.awaitCompletion(ctx, u); err != nil {
		return failed("it did not complete", err)
	}
	r.setHook(i, Succeeded, h.Event+" hook: completed")
	return true
}

// awaitCompletion polls a Job or Pod hook until it has completed, as
// helm's WatchUntilReady waits for it: a Job's Complete or Failed
// condition, a Pod's Succeeded or Failed phase. kstatus will not do: it
// calls a Job Current as soon as it has started.
func (r *run) awaitCompletion(ctx context.Context, want *unstructured.Unstructured) error {
	timeout := r.hookTimeout()
	deadline := time.Now().Add(timeout)
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(want.GroupVersionKind())
	for {
		err := r.m.Client().Get(ctx, client.ObjectKeyFromObject(want), live)
		switch {
		case apierrors.IsNotFound(err):
			return errors.New("it was deleted before it completed (a ttlSecondsAfterFinished too short for slipway to see it finish, or another hand)")
		case err != nil:
			return err
		}
		done, failure := completion(live)
		if failure != "" {
			return errors.New(failure)
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not complete after %s", duration(timeout))
		}
		if err := backoff.Sleep(ctx, hookPollInterval); err != nil {
			return err
		}
	}
}

// completion says whether a Job or Pod has completed, or why it failed.
func completion(u *unstructured.Unstructured) (done bool, failure string) {
	if u.GetKind() == "Pod" {
		switch phase, _, _ := unstructured.NestedString(u.Object, "status", "phase"); phase {
		case "Succeeded":
			return true, ""
		case "Failed":
			if reason, _, _ := unstructured.NestedString(u.Object, "status", "reason"); reason != "" {
				return false, "the pod failed: " + reason
			}
			return false, "the pod failed"
		}
		return false, ""
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["status"] != "True" {
			continue
		}
		switch m["type"] {
		case "Complete":
			return true, ""
		case "Failed":
			return false, fmt.Sprintf("the Job failed: %v: %v", m["reason"], m["message"])
		}
	}
	return false, ""
}

// deleteHook deletes hook i's object, if any, and waits until it is gone,
// so that the hook's next object is a new one (a Job's template cannot be
// changed in place).
func (r *run) deleteHook(ctx context.Context, i int) error {
	u := r.hookPayload[keyOfRef(r.p.Hooks[i].Ref)].DeepCopy()
	c := r.m.Client()
	err := c.Delete(ctx, u, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	deadline := time.Now().Add(r.hookTimeout())
	for {
		err := c.Get(ctx, client.ObjectKeyFromObject(u), u)
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("still there after %s", duration(r.hookTimeout()))
		}
		if err := backoff.Sleep(ctx, deletePollInterval); err != nil {
			return err
		}
	}
}

func (r *run) setHook(i int, o Outcome, msg string) {
	r.res.Hooks[i].Outcome, r.res.Hooks[i].Message = o, msg
}

// runsToCompletion reports whether helm waits for a hook of ref's kind to
// complete (kube.WatchUntilReady): Jobs and Pods; other hooks are ready
// once applied.
func runsToCompletion(ref plan.Ref) bool {
	return (ref.Group == "batch" && ref.Kind == "Job") || (ref.Group == "" && ref.Kind == "Pod")
}

func isCRD(ref plan.Ref) bool {
	return ref.Group == "apiextensions.k8s.io" && ref.Kind == "CustomResourceDefinition"
}
