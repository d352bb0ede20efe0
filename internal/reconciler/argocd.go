package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Argo CD's Application and the annotations slipway uses: refresh asks the
// application controller to compare with Git now (it removes the
// annotation when done); tracking-id is what Argo CD 3 marks each object it
// applies with (application.resourceTrackingMethod: annotation, the default).
const (
	argoRefresh     = "argocd.argoproj.io/refresh"
	argoTrackingID  = "argocd.argoproj.io/tracking-id"
	argoSyncOptions = "argocd.argoproj.io/sync-options"
	argoInitiator   = "slipway"
)

var applicationGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}

// argoCD is an Argo CD Application.
type argoCD struct {
	c          client.Client
	ref        repoconfig.ArgoCDRef
	path, repo string
}

func (a *argoCD) Object() string {
	return fmt.Sprintf("Argo CD Application %s/%s", a.ref.Namespace, a.ref.Application)
}

// PlanMarks adds to Marks what the Application manages (status.resources)
// and its prune rules: Argo CD deletes a managed object no longer rendered
// only with automated sync and prune (a sync slipway starts does not
// prune), and never one annotated with the sync option Prune=false.
func (a *argoCD) PlanMarks(ctx context.Context) (plan.Marks, error) {
	ref := a.ref
	marks := Marks(&repoconfig.Environment{Reconciler: &repoconfig.Reconciler{ArgoCD: &ref}})
	app := &unstructured.Unstructured{}
	app.SetGroupVersionKind(applicationGVK)
	err := a.c.Get(ctx, client.ObjectKey{Namespace: a.ref.Namespace, Name: a.ref.Application}, app)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return marks, nil
	case err != nil:
		return marks, fmt.Errorf("read %s for what it manages: %w (check that slipway may get it)", a.Object(), err)
	}
	if err := a.deploysThisRepo(app); err != nil {
		return marks, err
	}
	resources, _, _ := unstructured.NestedSlice(app.Object, "status", "resources")
	for _, r := range resources {
		m, _ := r.(map[string]any)
		str := func(k string) string { v, _ := m[k].(string); return v }
		if str("kind") == "" || str("name") == "" || str("version") == "" {
			continue
		}
		marks.Owned = append(marks.Owned, plan.Ref{Group: str("group"), Version: str("version"), Kind: str("kind"), Namespace: str("namespace"), Name: str("name")})
	}
	prune, _, _ := unstructured.NestedBool(app.Object, "spec", "syncPolicy", "automated", "prune")
	prune = prune && automated(app)
	marks.Kept = func(live *unstructured.Unstructured) string {
		switch {
		case strings.Contains(live.GetAnnotations()[argoSyncOptions], "Prune=false"):
			return "kept: no longer rendered; annotated " + argoSyncOptions + ": Prune=false, so Argo CD leaves it in the cluster"
		case !prune:
			return "kept: no longer rendered; " + a.Object() + " does not prune automatically, so it stays (OutOfSync) until a sync with prune"
		}
		return ""
	}
	return marks, nil
}

func (a *argoCD) get(ctx context.Context) (*unstructured.Unstructured, error) {
	return get(ctx, a.c, applicationGVK, a.ref.Namespace, a.ref.Application, "Argo CD Application")
}

// Request refreshes the Application (argocd.argoproj.io/refresh: normal, as
// `argocd app get --refresh` does) and, when it has no automated sync
// policy, starts a sync of commit by writing its operation field, as
// `argocd app sync --revision` does. An operation already under way is left
// to finish; an automated policy syncs the refreshed revision by itself.
func (a *argoCD) Request(ctx context.Context, commit string) (string, error) {
	app, err := a.get(ctx)
	if err != nil {
		return "", err
	}
	if err := a.deploysThisRepo(app); err != nil {
		return "", err
	}
	if err := annotate(ctx, a.c, app, argoRefresh, "normal"); err != nil {
		return "", err
	}
	if automated(app) {
		return commit, nil
	}
	if _, busy, _ := unstructured.NestedMap(app.Object, "operation"); busy {
		return commit, nil
	}
	op := map[string]any{"operation": map[string]any{
		"initiatedBy": map[string]any{"username": argoInitiator},
		"sync":        map[string]any{"revision": commit},
	}}
	patch, err := json.Marshal(op)
	if err != nil {
		return "", err
	}
	if err := a.c.Patch(ctx, app, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		return "", fmt.Errorf("start a sync of %s: %w", a.Object(), err)
	}
	return commit, nil
}

// automated reports whether app syncs by itself: spec.syncPolicy.automated
// set, and not turned off by its enabled field (Argo CD 3).
func automated(app *unstructured.Unstructured) bool {
	auto, found, _ := unstructured.NestedMap(app.Object, "spec", "syncPolicy", "automated")
	if !found {
		return false
	}
	enabled, set, _ := unstructured.NestedBool(auto, "enabled")
	return !set || enabled
}

// Observe reads the Application's status as Argo CD documents it:
// status.sync.{status,revision}, status.health.{status,message} and
// status.operationState.{phase,message,syncResult.revision}. Synced and
// Healthy at a commit is that commit applied; a sync operation that Failed
// or Erred, or Degraded health, is a failed attempt.
func (a *argoCD) Observe(ctx context.Context, _ string) (Observation, error) {
	app, err := a.get(ctx)
	if err != nil {
		return Observation{}, err
	}
	str := func(fields ...string) string {
		s, _, _ := unstructured.NestedString(app.Object, fields...)
		return s
	}
	var o Observation
	syncRev, syncStatus := str("status", "sync", "revision"), str("status", "sync", "status")
	health, healthMsg := str("status", "health", "status"), str("status", "health", "message")
	phase, opMsg := str("status", "operationState", "phase"), str("status", "operationState", "message")
	opRev := str("status", "operationState", "syncResult", "revision")
	if opRev == "" {
		opRev = str("status", "operationState", "operation", "sync", "revision")
	}
	switch {
	case phase == "Failed" || phase == "Error":
		o.Attempted, o.Failed, o.Message = opRev, true, opMsg
	case syncStatus == "Synced" && health == "Degraded":
		o.Attempted, o.Failed, o.Message = syncRev, true, "health Degraded: "+healthMsg
	case syncStatus == "Synced" && health == "Healthy" && phase != "Running":
		o.Applied, o.Attempted = syncRev, syncRev
	default:
		o.Attempted = opRev
		o.Message = fmt.Sprintf("sync %s, health %s", orUnknown(syncStatus), orUnknown(health))
		if opMsg != "" {
			o.Message += ", operation " + strings.ToLower(phase) + ": " + opMsg
		}
	}
	if msg := appConditions(app); msg != "" {
		o.Message = strings.TrimPrefix(o.Message+"; "+msg, "; ")
	}
	return o, nil
}

// appConditions joins the Application's error conditions
// (ComparisonError, InvalidSpecError, SyncError, ...).
func appConditions(app *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(app.Object, "status", "conditions")
	var out []string
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		t, _ := m["type"].(string)
		msg, _ := m["message"].(string)
		if strings.HasSuffix(t, "Error") {
			out = append(out, t+": "+msg)
		}
	}
	return strings.Join(out, "; ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// deploysThisRepo refuses an Application that does not apply this
// repository's environment path from its one source: slipway neither
// triggers nor plans against one that deploys anything else.
func (a *argoCD) deploysThisRepo(app *unstructured.Unstructured) error {
	if _, multi, _ := unstructured.NestedSlice(app.Object, "spec", "sources"); multi {
		return fmt.Errorf("%s has several sources (spec.sources); slipway follows Applications with one source", a.Object())
	}
	url, _, _ := unstructured.NestedString(app.Object, "spec", "source", "repoURL")
	p, _, _ := unstructured.NestedString(app.Object, "spec", "source", "path")
	return checkSource(a.Object(), url, a.repo, p, a.path)
}
