package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/slipwayhq/slipway/internal/render"
)

// HookPhase says when an apply runs a Helm hook.
type HookPhase string

// Phases of an apply that run hooks.
const (
	// HookPre hooks (pre-install, pre-upgrade) run before the release's
	// other objects are applied.
	HookPre HookPhase = "pre"
	// HookPost hooks (post-install, post-upgrade) run once they are
	// applied, pruned and healthy.
	HookPost HookPhase = "post"
)

// Hook is a Helm hook an apply runs: it deletes the hook's previous object
// when its delete policy says before-hook-creation, applies it, waits for a
// Job or Pod to complete, and deletes it again when the policy says
// hook-succeeded (or hook-failed, and it failed).
type Hook struct {
	Ref  Ref    `json:"ref"`
	File string `json:"file,omitempty"`
	// Phase and Event say when it runs: Event is the Helm event it runs
	// for in this apply ("pre-upgrade").
	Phase HookPhase `json:"phase"`
	Event string    `json:"event"`
	// Weight orders hooks of one phase (helm.sh/hook-weight), then names.
	Weight int `json:"weight"`
	// DeletePolicies are helm.sh/hook-delete-policy's, or Helm's default,
	// before-hook-creation, when it names none.
	DeletePolicies []string `json:"delete_policies"`
	// After is the hook as applied, normalised, Secret values masked.
	After string `json:"after"`
}

// HasDeletePolicy reports whether h is deleted on the given occasion
// (before-hook-creation, hook-succeeded, hook-failed).
func (h Hook) HasDeletePolicy(policy string) bool {
	for _, p := range h.DeletePolicies {
		if p == policy {
			return true
		}
	}
	return false
}

// hookEntry is a hook to run with what the digest and apply need.
type hookEntry struct {
	hook    Hook
	after   *unstructured.Unstructured // normalised, for the digest
	payload *unstructured.Unstructured // what apply sends
}

// hookPlan is what a render's hooks come to in one apply.
type hookPlan struct {
	run     []hookEntry // in run order: pre hooks, then post hooks
	skipped []entry     // never run in this apply, with why
	refused []entry     // Error changes: the server config does not allow them
}

// planHooks decides, as helm install or helm upgrade would, which of the
// rendered hooks run and in what order: an environment whose inventory
// exists is upgraded, one without is installed. Helm's own parser
// (releaseutil.SortManifests) reads the hook annotations, so events,
// weights and delete policies mean what they mean to helm. A hook to run
// is weighed by admit like any object (and refused as an Error change
// when it may not be touched); one whose identity is a release object's
// is refused too, since applying one would overwrite the other.
func (e *Engine) planHooks(objects []render.Object, rendered []render.Object, install bool) (*hookPlan, error) {
	out := &hookPlan{}
	if len(objects) == 0 {
		return out, nil
	}
	hooks, byIndex, err := readHooks(objects)
	if err != nil {
		return nil, err
	}
	releaseObjects := make(map[objectKey]bool, len(rendered))
	for _, o := range rendered {
		releaseObjects[keyOf(o.Object)] = true
	}
	pre, post := release.HookPreUpgrade, release.HookPostUpgrade
	if install {
		pre, post = release.HookPreInstall, release.HookPostInstall
	}
	// Two running hooks of one identity would be one object in the
	// cluster, and apply could send only one of them: neither runs.
	runningKeys := map[objectKey]int{}
	for i, o := range objects {
		if h := byIndex[i]; h != nil && (hasEvent(h, pre) || hasEvent(h, post)) {
			runningKeys[keyOf(o.Object)]++
		}
	}
	for i, o := range objects {
		msg := ""
		switch h := byIndex[i]; {
		case h == nil:
			msg = fmt.Sprintf("Helm hook of unknown type %q: never run (helm skips it too)", o.Object.GetAnnotations()[release.HookAnnotation])
		case !hasEvent(h, pre) && !hasEvent(h, post):
			msg = notRunMessage(h, install)
		default:
			continue
		}
		en, err := skippedEntry(o, msg)
		if err != nil {
			return nil, err
		}
		out.skipped = append(out.skipped, en)
	}
	// hooks are in Helm's kind order; each phase keeps it under weights.
	var runs [2][]*release.Hook
	for _, h := range hooks {
		o := objects[indexOf(h)]
		runsPre, runsPost := hasEvent(h, pre), hasEvent(h, post)
		if !runsPre && !runsPost {
			continue
		}
		ref := refOf(o.Object)
		why := ""
		switch {
		case releaseObjects[keyOf(o.Object)]:
			why = "it has the identity of an object of the release; give the hook its own name"
		case runningKeys[keyOf(o.Object)] > 1:
			why = "another hook that runs has the same kind, namespace and name; give each hook its own name"
		case e.admit != nil:
			if err := e.admit(ref); err != nil {
				why = err.Error()
			}
		}
		if why != "" {
			out.refused = append(out.refused, entry{change: Change{Ref: ref, Action: Error, File: o.File, Line: o.Line,
				Message: fmt.Sprintf("Helm %s hook: %s", eventsOf(h), why)}})
			continue
		}
		if runsPre {
			runs[0] = append(runs[0], h)
		}
		if runsPost {
			runs[1] = append(runs[1], h)
		}
	}
	for n, phase := range []HookPhase{HookPre, HookPost} {
		event := pre
		if phase == HookPost {
			event = post
		}
		// Helm's order (action.execHook): by kind first (SortManifests),
		// then stably by weight, then by name.
		hs := runs[n]
		sort.SliceStable(hs, func(a, b int) bool {
			if hs[a].Weight == hs[b].Weight {
				return hs[a].Name < hs[b].Name
			}
			return hs[a].Weight < hs[b].Weight
		})
		for _, h := range hs {
			en, err := e.hookEntry(objects[indexOf(h)], h, phase, event)
			if err != nil {
				return nil, err
			}
			out.run = append(out.run, en)
		}
	}
	sort.SliceStable(out.skipped, func(i, j int) bool { return refLess(out.skipped[i].change.Ref, out.skipped[j].change.Ref) })
	return out, nil
}

// readHooks reads the rendered hooks with Helm's own parser: hooks in
// Helm's kind order, and each by its index in objects (none for a hook of
// an unknown type, which helm drops).
func readHooks(objects []render.Object) ([]*release.Hook, map[int]*release.Hook, error) {
	files := make(map[string]string, len(objects))
	for i, o := range objects {
		b, err := yaml.Marshal(o.Object.Object)
		if err != nil {
			return nil, nil, fmt.Errorf("encode hook %s: %w", refOf(o.Object), err)
		}
		files[hookPath(i)] = string(b)
	}
	hooks, _, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, nil, fmt.Errorf("read the Helm hooks: %w", err)
	}
	byIndex := make(map[int]*release.Hook, len(hooks))
	for _, h := range hooks {
		byIndex[indexOf(h)] = h
	}
	return hooks, byIndex, nil
}

// RunnableHooks are the hooks among a render's that an install or an
// upgrade runs: objects that reach the cluster, so policy rules weigh them
// like the release's own (a rule cannot be slipped past in a hook).
func RunnableHooks(objects []render.Object) ([]render.Object, error) {
	_, byIndex, err := readHooks(objects)
	if err != nil {
		return nil, err
	}
	var out []render.Object
	for i, o := range objects {
		h := byIndex[i]
		if h != nil && (hasEvent(h, release.HookPreInstall) || hasEvent(h, release.HookPostInstall) ||
			hasEvent(h, release.HookPreUpgrade) || hasEvent(h, release.HookPostUpgrade)) {
			out = append(out, o)
		}
	}
	return out, nil
}

const hookPathPrefix = "hook/"

// hookPath names hook i's file for SortManifests, which reads files in
// name order: zero-padded, that is the render's order.
func hookPath(i int) string { return fmt.Sprintf("%s%06d", hookPathPrefix, i) }

// indexOf is the index in the rendered hooks of a hook SortManifests read
// from hookPath(index); each file holds one object.
func indexOf(h *release.Hook) int {
	i, _ := strconv.Atoi(strings.TrimPrefix(h.Path, hookPathPrefix))
	return i
}

func (e *Engine) hookEntry(o render.Object, h *release.Hook, phase HookPhase, event release.HookEvent) (hookEntry, error) {
	payload := o.Object.DeepCopy()
	// A hook is no inventory member: a part-of label the chart gave it
	// would make some inventory's next plan take it for one of its own.
	unstructured.RemoveNestedField(payload.Object, "metadata", "labels", applySetPartOfLabel)
	if len(payload.GetLabels()) == 0 {
		unstructured.RemoveNestedField(payload.Object, "metadata", "labels")
	}
	after, err := normalized(payload, nil)
	if err != nil {
		return hookEntry{}, err
	}
	text, err := e.mask.printYAML(after)
	if err != nil {
		return hookEntry{}, err
	}
	policies := make([]string, 0, len(h.DeletePolicies))
	for _, p := range h.DeletePolicies {
		policies = append(policies, string(p))
	}
	if len(policies) == 0 {
		policies = []string{string(release.HookBeforeHookCreation)} // helm's default
	}
	return hookEntry{
		hook: Hook{Ref: refOf(payload), File: o.File, Phase: phase, Event: string(event), Weight: h.Weight,
			DeletePolicies: policies, After: text},
		after:   after,
		payload: payload,
	}, nil
}

func hasEvent(h *release.Hook, event release.HookEvent) bool {
	for _, e := range h.Events {
		if e == event {
			return true
		}
	}
	return false
}

func eventsOf(h *release.Hook) string {
	names := make([]string, len(h.Events))
	for i, e := range h.Events {
		names[i] = string(e)
	}
	return strings.Join(names, ",")
}

// notRunMessage says why a hook does not run in this apply.
func notRunMessage(h *release.Hook, install bool) string {
	events := eventsOf(h)
	for _, e := range h.Events {
		switch e {
		case release.HookPreInstall, release.HookPostInstall:
			if !install {
				return fmt.Sprintf("Helm %s hook: not run, this apply upgrades the environment (its inventory exists)", events)
			}
		case release.HookPreUpgrade, release.HookPostUpgrade:
			if install {
				return fmt.Sprintf("Helm %s hook: not run, this apply installs the environment (it has no inventory yet)", events)
			}
		}
	}
	if hasEvent(h, release.HookTest) {
		return fmt.Sprintf("Helm %s hook: slipway never runs test hooks", events)
	}
	return fmt.Sprintf("Helm %s hook: slipway never runs delete or rollback hooks", events)
}

// skippedEntry lists a rendered hook that is not run, saying why; its
// content still enters the digest (as it did when no hook ran).
func skippedEntry(o render.Object, msg string) (entry, error) {
	n, err := normalized(o.Object, nil)
	if err != nil {
		return entry{}, err
	}
	return entry{change: Change{Ref: refOf(o.Object), Action: Unchanged, File: o.File, Line: o.Line, Message: msg}, after: n, skipped: true}, nil
}
