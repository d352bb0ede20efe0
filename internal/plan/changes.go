package plan

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// entry is one change with what the digest and apply need from it.
type entry struct {
	change Change
	// before and after are the normalised objects the reviewer's diff is
	// made of, Secret values still in the clear; nil for a side not shown
	// (both, for unchanged objects and errors).
	before, after *unstructured.Unstructured
	skipped       bool                       // a Helm hook this apply does not run: listed, never applied
	payload       *unstructured.Unstructured // what apply sends; nil for errors and deletions
}

// Messages for inventory members that are no longer rendered but stay.
const (
	keptPruneOff  = "kept: no longer rendered; this environment has prune: false, so apply leaves it in the cluster"
	keptAnnotated = "kept: no longer rendered; annotated " + PruneAnnotation + ": " + PruneDisabled + ", so apply leaves it in the cluster"
)

// planEntries turns dry-run results into changes, adds the members no longer
// rendered (deletions, or kept ones), and sorts them in plan order.
func planEntries(m masker, env *repoconfig.Environment, kept func(*unstructured.Unstructured) string, p *parent, pl planned, items []*item, listed members) ([]entry, error) {
	entries := make([]entry, 0, len(items))
	rendered := make(map[objectKey]bool, len(items))
	legacyID := ""
	if p.legacy != nil {
		legacyID = p.legacy.id
	}
	for _, it := range items {
		rendered[it.key] = true
	}
	// Deletions first, so that listed (the members as read) is no longer
	// needed while the items' entries are made: of 10,000 objects, the
	// plan then holds each changed one's live and dry-run copies or their
	// normalised ones, not both.
	for key, live := range listed {
		if rendered[key] || live.GetDeletionTimestamp() != nil {
			continue // still wanted, or already on its way out
		}
		ref := refOf(live)
		adopted := legacyID != "" && live.GetLabels()[applySetPartOfLabel] == legacyID
		if msg := kept(live); msg != "" {
			entries = append(entries, entry{change: Change{Ref: ref, Action: Unchanged, Message: msg, Kept: true, Adopted: adopted}})
			continue
		}
		before, err := normalized(live, ignoredPaths(env.Ignore, ref))
		if err != nil {
			return nil, err
		}
		text, err := m.printYAML(before)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{change: Change{Ref: ref, Action: Delete, Before: text, Adopted: adopted}, before: before})
	}
	// Normalising, masking and printing each object is the client's own
	// work between the dry-runs and the apply, with the API server idle:
	// it is spread over the cores.
	base := len(entries)
	entries = append(entries, make([]entry, len(items))...)
	err := onCores(len(items), func(i int) error {
		it := items[i]
		if it.made == nil && it.madeErr == nil {
			it.makeEntry(m, pl, p)
		}
		if it.madeErr != nil {
			return it.madeErr
		}
		entries[base+i] = *it.made
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(entries, func(i, j int) bool { return refLess(entries[i].change.Ref, entries[j].change.Ref) })
	return entries, nil
}

// onCores runs fn for 0..n-1 on as many goroutines as there are cores
// (one for a few items), and returns the error of the lowest i that failed.
// A panic in fn is raised again in the caller's goroutine.
func onCores(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/64+1)
	errs := make([]error, workers)
	failedAt := make([]int, workers)
	var wg sync.WaitGroup
	var caught recovery.Caught
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer caught.Recover()
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					errs[w], failedAt[w] = err, i
					return
				}
			}
		}()
	}
	wg.Wait()
	caught.Repanic()
	var first error
	at := n
	for w, err := range errs {
		if err != nil && failedAt[w] < at {
			first, at = err, failedAt[w]
		}
	}
	return first
}

// keptMessage says why a member that is no longer rendered is not deleted,
// or is "" when apply prunes it.
func keptMessage(env *repoconfig.Environment, live *unstructured.Unstructured) string {
	switch {
	case live.GetAnnotations()[PruneAnnotation] == PruneDisabled:
		return keptAnnotated
	case !env.PruneEnabled():
		return keptPruneOff
	}
	return ""
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// makeEntry makes its entry once its dry-run has answered (or it was
// decided without one), and lets go of the live and dry-run copies: the
// entry has what it needs of them.
func (it *item) makeEntry(m masker, pl planned, p *parent) {
	legacyID := ""
	if p.legacy != nil {
		legacyID = p.legacy.id
	}
	en, err := itemEntry(m, it, pl, p.id, legacyID)
	if err != nil {
		it.madeErr = err
		return
	}
	it.made = &en
	it.live, it.dryRun = nil, nil
}

// itemEntry turns one rendered object's dry-run into its change. A live
// object labelled with the legacy parent's id (legacyID, "" for none) is
// adopted: the move of its label is no change a reviewer needs to read.
func itemEntry(m masker, it *item, pl planned, applySetID, legacyID string) (entry, error) {
	ch := Change{Ref: it.ref, File: it.src.File, Line: it.src.Line}
	en := entry{payload: it.desired}
	var err error
	switch {
	case it.prepErr != nil || it.err != nil:
		note, pending := pendingNote(it, pl)
		if !pending {
			ch.Action, ch.Message, en.payload = Error, errorMessage(m, it), nil
			break
		}
		ch.Action, ch.Message = Create, note
		en.after, ch.After, err = shown(m, it.desired, it.ignored)
	case it.local:
		// The live object carries this ApplySet's label (the render sets
		// it, and it equals the live one), so it is neither adopted nor
		// taken over; an unchanged object shows and digests nothing more.
		ch.Action = Unchanged
	case it.live == nil:
		ch.Action = Create
		en.after, ch.After, err = shown(m, it.dryRun, it.ignored)
	default:
		owner := it.live.GetLabels()[applySetPartOfLabel]
		ch.Adopted = legacyID != "" && owner == legacyID
		ch.Action, en.before, en.after, err = compare(it, ch.Adopted)
		if err == nil && ch.Action == Update {
			ch.LabelOnly = owner == "" && onlyLabelAdded(en.before, en.after)
			ch.Before, ch.After, err = printPair(m, en.before, en.after)
		}
		if owner != "" && owner != applySetID && !ch.Adopted {
			ch.Message = fmt.Sprintf("taken over from another ApplySet (%s): applying makes this environment its owner", owner)
		}
	}
	ch.Message = withWarningNotes(m, ch.Message, it)
	en.change = ch
	return en, err
}

// withWarningNotes adds the apiserver's warnings on its dry-run to msg, one
// a line.
func withWarningNotes(m masker, msg string, it *item) string {
	for _, w := range it.warnings.list() {
		if isSecret(it.desired) || isSecret(it.src.Object) {
			w = m.scrubSecrets(w, it.src.Object, it.desired)
		}
		if msg != "" {
			msg += "\n"
		}
		msg += "warning: " + w
	}
	return msg
}

// compare diffs the live object with the dry-run answer, both normalised.
// Defaulted fields appear in both, so they are no change; so does the
// ApplySet label of an adopted object, which only moves from the legacy
// parent's id to the new one. An unchanged object has no before and after:
// the reviewer sees only that it is unchanged, so that is all of it the
// digest takes (a controller scaling it, say, changes nothing reviewed).
func compare(it *item, adopted bool) (action Action, before, after *unstructured.Unstructured, err error) {
	b, err := normalized(it.live, it.ignored)
	if err != nil {
		return "", nil, nil, err
	}
	a, err := normalized(it.dryRun, it.ignored)
	if err != nil {
		return "", nil, nil, err
	}
	if id, ok := a.GetLabels()[applySetPartOfLabel]; adopted && ok {
		if labels := b.GetLabels(); labels[applySetPartOfLabel] != "" {
			labels[applySetPartOfLabel] = id
			b.SetLabels(labels)
		}
	}
	if apiequality.Semantic.DeepEqual(b.Object, a.Object) {
		return Unchanged, nil, nil, nil
	}
	return Update, b, a, nil
}

// onlyLabelAdded reports whether after is before with the ApplySet label
// added and nothing else changed.
func onlyLabelAdded(before, after *unstructured.Unstructured) bool {
	id, ok := after.GetLabels()[applySetPartOfLabel]
	if !ok {
		return false
	}
	b := before.DeepCopy()
	labels := b.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[applySetPartOfLabel] = id
	b.SetLabels(labels)
	return apiequality.Semantic.DeepEqual(b.Object, after.Object)
}

func printPair(m masker, before, after *unstructured.Unstructured) (string, string, error) {
	b, err := m.printYAML(before)
	if err != nil {
		return "", "", err
	}
	a, err := m.printYAML(after)
	if err != nil {
		return "", "", err
	}
	return b, a, nil
}

// shown is u normalised, and printed as the reviewer reads it.
func shown(m masker, u *unstructured.Unstructured, ignored []string) (*unstructured.Unstructured, string, error) {
	n, err := normalized(u, ignored)
	if err != nil {
		return nil, "", err
	}
	text, err := m.printYAML(n)
	return n, text, err
}

// pendingNote explains an object that cannot be dry-run because its kind or
// namespace is created by the same plan: apply creates those first, so the
// object is a create, not an error.
func pendingNote(it *item, pl planned) (string, bool) {
	if it.noKind {
		if crd, ok := pl.crds[it.key.groupKind()]; ok {
			return fmt.Sprintf("created after its CustomResourceDefinition %s in this plan", crd.name), true
		}
		return "", false
	}
	ns := it.ref.Namespace
	if ns == "" || !pl.namespaces[ns] || !apierrors.IsNotFound(it.err) {
		return "", false
	}
	var status apierrors.APIStatus
	if errors.As(it.err, &status) {
		if d := status.Status().Details; d != nil && d.Kind == "namespaces" && d.Name == ns {
			return fmt.Sprintf("created after its Namespace %s in this plan", ns), true
		}
	}
	return "", false
}

// errorMessage is what a reviewer reads for an object that cannot be
// applied: the apiserver's own words where it refused, never a Secret value.
func errorMessage(m masker, it *item) string {
	err := it.prepErr
	if err == nil {
		err = it.err
	}
	msg := err.Error()
	if isSecret(it.desired) || isSecret(it.src.Object) {
		msg = m.scrubSecrets(msg, it.src.Object, it.desired)
	}
	return msg
}
