// Package reconciler asks the in-cluster reconciler that applies an
// environment (Flux, Argo CD) to apply a commit now, and follows what it
// reports until that commit is applied and healthy, failed, or time is up.
package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Reconciler is one environment's reconciler, as slipway sees it.
type Reconciler interface {
	// Object names the object slipway triggers and watches, for people:
	// "Flux Kustomization flux-system/apps".
	Object() string
	// PlanMarks are how the reconciler applies, for a plan of its
	// environment: Marks, and what it applied before and prunes when no
	// longer rendered (Flux's inventory). An object not created yet owns
	// nothing.
	PlanMarks(ctx context.Context) (plan.Marks, error)
	// Request makes sure the object deploys this repository's path, then
	// asks the reconciler to reconcile now instead of at its next
	// interval. The token it returns marks the request for Observe.
	Request(ctx context.Context, commit string) (token string, err error)
	// Observe reads what the reconciler reports.
	Observe(ctx context.Context, token string) (Observation, error)
}

// SourceReader is a reconciler that reads, for a plan, the chart sources
// its objects name from the cluster (Flux: a HelmRelease's HelmRepository
// or OCIRepository that the environment's path does not hold).
type SourceReader interface {
	LookupSource(ctx context.Context, ref render.SourceRef) (render.FluxSource, error)
}

// Observation is what a reconciler reports about its latest work.
type Observation struct {
	// Applied is the commit the reconciler last applied, healthy; "" when
	// it reports none (yet).
	Applied string
	// Attempted is the commit its latest attempt was at, and Failed
	// whether that attempt failed.
	Attempted string
	Failed    bool
	// Message is the reconciler's own words about its state.
	Message string
}

// New is the reconciler env names, reached through c (slipway's identity on
// the environment's cluster, or the service account it impersonates there,
// whose RBAC bounds what slipway may read and patch). repo (owner/name) is
// the repository whose commits it must deploy: slipway triggers only a
// reconciler that deploys that repository at env's path.
func New(c client.Client, env *repoconfig.Environment, repo string) (Reconciler, error) {
	switch r := env.Reconciler; {
	case r == nil:
		return nil, fmt.Errorf("environment %s has no reconciler", env.Name)
	case r.Flux != nil:
		return &flux{c: c, ref: *r.Flux, path: env.Path, repo: repo}, nil
	case r.ArgoCD != nil:
		return &argoCD{c: c, ref: *r.ArgoCD, path: env.Path, repo: repo}, nil
	}
	return nil, fmt.Errorf("environment %s: reconciler names neither flux nor argocd", env.Name)
}

// Marks are how env's reconciler applies what it applies, for plans: its
// field manager, labels and annotations (plan.Marks). Zero for an
// environment slipway applies.
func Marks(env *repoconfig.Environment) plan.Marks {
	r := env.Reconciler
	switch {
	case r == nil:
		return plan.Marks{}
	case r.Flux != nil:
		// ssa.ResourceManager.SetOwnerLabels with kustomize-controller's
		// (or helm-controller's) API group.
		group := kustomizeGroup
		if r.Flux.Kind == repoconfig.FluxHelmRelease {
			group = helmGroup
		}
		return plan.Marks{FieldManager: env.FieldManager(), Labels: map[string]string{
			group + "/name": r.Flux.Name, group + "/namespace": r.Flux.Namespace}}
	default:
		app := r.ArgoCD.Application
		// Argo CD 3's default resource tracking: the annotation
		// argocd.argoproj.io/tracking-id, APP:GROUP/KIND:NAMESPACE/NAME.
		return plan.Marks{FieldManager: env.FieldManager(), Annotations: func(ref plan.Ref) map[string]string {
			return map[string]string{argoTrackingID: fmt.Sprintf("%s:%s/%s:%s/%s", app, ref.Group, ref.Kind, ref.Namespace, ref.Name)}
		}}
	}
}

// Outcome is how following a reconciler ended, as a GitHub Deployment
// state: success, failure (the reconciler rejected the commit) or error
// (slipway could not tell: time ran out, the object could not be read).
type Outcome struct {
	State   string
	Message string
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// Wait bounds the whole wait (the environment's wait; default 5m).
	Wait time.Duration
	// Poll is how often the status is read; default 2s.
	Poll time.Duration
	// Includes reports whether commit rev contains the commit followed (it
	// descends from it): a reconciler that went on to a newer commit of the
	// branch applied this one too. Nil: only the commit itself counts.
	Includes func(ctx context.Context, rev string) (bool, error)
}

// Follow asks r to reconcile commit and reads its status until the commit
// (or one that includes it) is applied and healthy, the reconciler reports
// its attempt at the commit failed, or opts.Wait passes.
func Follow(ctx context.Context, r Reconciler, commit string, opts FollowOptions) Outcome {
	if opts.Wait <= 0 {
		opts.Wait = repoconfig.DefaultWait
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	token, err := r.Request(ctx, commit)
	if err != nil {
		return Outcome{State: "error", Message: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Wait)
	defer cancel()
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	last := "no status yet"
	for {
		o, err := r.Observe(ctx, token)
		switch {
		case err != nil && ctx.Err() == nil:
			last = err.Error()
		case err != nil:
		case o.Applied == commit:
			return Outcome{State: "success", Message: applied(r, commit, o)}
		case o.Attempted == commit && o.Failed:
			return Outcome{State: "failure", Message: fmt.Sprintf("%s failed at %s: %s", r.Object(), short(commit), orNone(o.Message))}
		case o.Applied != "" && opts.Includes != nil:
			if in, err := opts.Includes(ctx, o.Applied); err == nil && in {
				return Outcome{State: "success", Message: applied(r, o.Applied, o) + fmt.Sprintf(", which includes %s", short(commit))}
			}
			fallthrough
		default:
			last = status(o)
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return Outcome{State: "error", Message: fmt.Sprintf("%s did not report %s applied within %s; last: %s", r.Object(), short(commit), opts.Wait, last)}
			}
			return Outcome{State: "error", Message: fmt.Sprintf("stopped following %s: %v", r.Object(), context.Cause(ctx))}
		case <-tick.C:
		}
	}
}

func applied(r Reconciler, rev string, o Observation) string {
	msg := fmt.Sprintf("%s applied %s", r.Object(), short(rev))
	if o.Message != "" {
		msg += ": " + o.Message
	}
	return msg
}

func status(o Observation) string {
	var parts []string
	if o.Applied != "" {
		parts = append(parts, "applied "+short(o.Applied))
	}
	if o.Attempted != "" && o.Attempted != o.Applied {
		parts = append(parts, "attempted "+short(o.Attempted))
	}
	if o.Message != "" {
		parts = append(parts, o.Message)
	}
	return orNone(strings.Join(parts, "; "))
}

func orNone(s string) string {
	if s == "" {
		return "(no message)"
	}
	return s
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// get reads the object gvk namespace/name, saying what to check when it is
// missing or unreadable.
func get(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, namespace, name, what string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u); err != nil {
		return nil, fmt.Errorf("read %s %s/%s: %w (check the reconciler in .slipway.yaml, and that slipway may get and patch it)", what, namespace, name, err)
	}
	return u, nil
}

// annotate sets one annotation on u with a merge patch, which touches
// nothing else (no field ownership, no spec).
func annotate(ctx context.Context, c client.Client, u *unstructured.Unstructured, key, value string) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, key, value)
	if err := c.Patch(ctx, u, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		return fmt.Errorf("annotate %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}
