package plan

import (
	"context"
	"fmt"
	"maps"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Marks are what a reconciler that applies an environment in slipway's
// stead (Flux's kustomize-controller, Argo CD) puts on every object it
// applies: its server-side apply field manager and its tracking labels and
// annotations. A plan made with them dry-runs each object the way that
// reconciler will apply it, so the diff is the reconciler's, without noise
// about field ownership or its labels.
type Marks struct {
	FieldManager string
	Labels       map[string]string
	// Annotations, when not nil, are the annotations the reconciler puts
	// on the object ref (Argo CD's tracking id names the object).
	Annotations func(ref Ref) map[string]string
	// Owned are the objects the reconciler applied before (its inventory):
	// those no longer rendered are planned as deletions, as it prunes
	// them, unless Kept says why it keeps one.
	Owned []Ref
	// Kept says why the reconciler keeps live, an owned object no longer
	// rendered, or is "" when it prunes it. Nil: it prunes them all.
	Kept func(live *unstructured.Unstructured) string
}

// ReconciledBy is e planning environments that a reconciler applies, as
// marks describe it. Such a plan neither reads nor labels slipway's
// inventory (slipway never applies or prunes these environments); its
// deletions are the objects of marks.Owned no longer rendered. It shares
// e's connection and discovery.
func (e *Engine) ReconciledBy(marks Marks) *Engine {
	c := *e
	c.marks = &marks
	if marks.FieldManager != "" {
		c.opts.FieldManager = marks.FieldManager
	}
	return &c
}

// readOwned reads the live objects refs name, the reconciler's inventory,
// as the members a plan compares with: one no longer rendered is a
// deletion. An object that is gone, of a kind the cluster no longer serves,
// or outside what admit allows (nothing is sent about it) is left out.
func (e *Engine) readOwned(ctx context.Context, refs []Ref) (members, error) {
	out := members{}
	var mu sync.Mutex
	err := e.parallel(ctx, len(refs), func(ctx context.Context, i int) error {
		r := refs[i]
		if e.admit != nil && e.admit(r) != nil {
			return nil
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind})
		err := e.client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, u)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			return nil
		case err != nil:
			return fmt.Errorf("read %s, which the reconciler applied: %w", r, err)
		}
		mu.Lock()
		out[keyOf(u)] = u
		mu.Unlock()
		return nil
	})
	return out, err
}

// kept is how the plan tells an object no longer rendered that stays from
// one that is deleted: by env's prune settings, or by its reconciler's.
func (e *Engine) kept(env *repoconfig.Environment) func(live *unstructured.Unstructured) string {
	switch {
	case e.marks == nil:
		return func(live *unstructured.Unstructured) string { return keptMessage(env, live) }
	case e.marks.Kept != nil:
		return e.marks.Kept
	}
	return func(*unstructured.Unstructured) string { return "" }
}

// mark labels u as a member of the ApplySet applySetID, or, for an
// environment a reconciler applies, as that reconciler would.
func (e *Engine) mark(u *unstructured.Unstructured, ref Ref, applySetID string) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	if e.marks == nil {
		labels[applySetPartOfLabel] = applySetID
		u.SetLabels(labels)
		return
	}
	maps.Copy(labels, e.marks.Labels)
	if len(labels) > 0 {
		u.SetLabels(labels)
	}
	if e.marks.Annotations == nil {
		return
	}
	if add := e.marks.Annotations(ref); len(add) > 0 {
		annotations := u.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		maps.Copy(annotations, add)
		u.SetAnnotations(annotations)
	}
}
