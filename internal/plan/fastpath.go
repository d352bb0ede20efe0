package plan

import (
	"bytes"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// The fast path: most objects of most plans are exactly what slipway
// applied last time, and a dry-run of each costs the API server one
// write-path request to say so. An object is decided unchanged locally,
// from the live copy the inventory LIST already returned, when
// server-side applying it would provably change nothing:
//
//   - slipway's field manager, with operation Apply at the rendered API
//     version, owns exactly the fields the rendered object sets (every
//     owned field is rendered, every rendered field is owned);
//   - no other manager owns any of those fields;
//   - every rendered value is, byte for byte as JSON, the live value, and
//     every list has the live list's length and order.
//
// Then the apply merges nothing new and releases nothing, so the dry-run
// answer would be the live object and the plan's verdict "unchanged", with
// nothing of the object in the digest. Anything else (a value in another
// spelling, such as 0.5 for 500m; a field a hand edit took over; a null; a
// list element by index; an object another tool created) is a candidate
// and is dry-run as before: a false candidate costs one request, a false
// "unchanged" would hide a change from the reviewer.
//
// What the fast path cannot see is mutating admission that changes an
// object on every apply, and warnings admission would return on the
// dry-run of an unchanged object: an environment with `plan: {verify:
// all}` dry-runs everything, as before.
//
// One assumption: a key field of an associative list the rendered object
// leaves out (a container port's protocol) takes the default it took at
// the last apply, which holds unless a CRD changes that default.

// provablyUnchanged reports whether server-side applying desired as
// manager (dry-run included) would leave live as it is. When it would not,
// or that cannot be shown, it says why.
func provablyUnchanged(desired, live *unstructured.Unstructured, manager string) (bool, string) {
	switch {
	case live == nil:
		return false, "not in the cluster"
	case live.GetDeletionTimestamp() != nil:
		return false, "being deleted"
	case live.GetAPIVersion() != desired.GetAPIVersion():
		return false, "read at " + live.GetAPIVersion()
	}
	entries := live.GetManagedFields()
	mine := -1
	for i, en := range entries {
		if en.Manager == manager && en.Operation == metav1.ManagedFieldsOperationApply && en.Subresource == "" && en.APIVersion == desired.GetAPIVersion() {
			mine = i
		}
	}
	if mine < 0 {
		return false, "not applied by " + manager + " at " + desired.GetAPIVersion()
	}
	owned, err := fieldSet(entries[mine])
	if err != nil {
		return false, err.Error()
	}
	for i, en := range entries {
		if i == mine {
			continue
		}
		other, err := fieldSet(en)
		if err != nil {
			return false, err.Error()
		}
		if !owned.Intersection(other).Empty() {
			return false, fmt.Sprintf("fields shared with %s (%s)", en.Manager, en.Operation)
		}
	}
	w := walker{}
	if !w.fields(withoutIdentity(desired.Object), live.Object, owned) {
		return false, w.why
	}
	return true, ""
}

func fieldSet(en metav1.ManagedFieldsEntry) (*fieldpath.Set, error) {
	if en.FieldsV1 == nil || en.FieldsType != "FieldsV1" {
		return nil, fmt.Errorf("managed fields of %s are not FieldsV1", en.Manager)
	}
	s := &fieldpath.Set{}
	if err := s.FromJSON(bytes.NewReader(en.FieldsV1.Raw)); err != nil {
		return nil, fmt.Errorf("managed fields of %s: %w", en.Manager, err)
	}
	return s, nil
}

// withoutIdentity is a shallow copy of an object without apiVersion, kind,
// metadata.name and metadata.namespace: server-side apply owns none of
// them, and the LIST that found the live object matched them already.
func withoutIdentity(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "apiVersion" && k != "kind" {
			out[k] = v
		}
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return out
	}
	m := make(map[string]any, len(meta))
	for k, v := range meta {
		if k != "name" && k != "namespace" {
			m[k] = v
		}
	}
	if len(m) == 0 {
		delete(out, "metadata")
	} else {
		out["metadata"] = m
	}
	return out
}

// walker checks a rendered object against a live one and the field set
// slipway owns in it, node by node; why says where they part.
type walker struct {
	path []string
	why  string
}

func (w *walker) fail(format string, args ...any) bool {
	w.why = fmt.Sprintf("at %v: %s", w.path, fmt.Sprintf(format, args...))
	return false
}

// fields checks a rendered map against the live map at the same place: the
// owned elements at this level (s) must be exactly the rendered keys.
func (w *walker) fields(d, l map[string]any, s *fieldpath.Set) bool {
	if l == nil {
		return w.fail("not in the live object")
	}
	for k, dv := range d {
		w.path = append(w.path, k)
		lv, ok := l[k]
		if !ok {
			return w.fail("not in the live object")
		}
		if !w.element(fieldpath.FieldNameElement(k), dv, lv, s) {
			return false
		}
		w.path = w.path[:len(w.path)-1]
	}
	if n := elementCount(s); n != len(d) {
		return w.fail("slipway owns %d fields here, the render sets %d", n, len(d))
	}
	return true
}

// element checks one rendered value against the live one, where pe selects
// both in their parent and s is what slipway owns in the parent.
func (w *walker) element(pe fieldpath.PathElement, dv, lv any, s *fieldpath.Set) bool {
	if dv == nil {
		return w.fail("null: apply treats it specially")
	}
	child, granular := s.Children.Get(pe)
	switch {
	case !s.Members.Has(pe) && !granular:
		return w.fail("not owned: apply would take it over")
	case !granular:
		// A leaf: a scalar, an atomic map or list, an empty map.
		if !jsonEqual(dv, lv) {
			return w.fail("the live value differs")
		}
		return true
	}
	switch dv := dv.(type) {
	case map[string]any:
		lm, _ := lv.(map[string]any)
		return w.fields(dv, lm, child)
	case []any:
		ll, ok := lv.([]any)
		if !ok {
			return w.fail("not a list in the live object")
		}
		return w.list(dv, ll, child)
	}
	return w.fail("a value where slipway owns fields below")
}

// list checks a rendered associative list (or set) against the live one:
// same length, element i of each selected by the same owned key, and the
// owned keys exactly the rendered elements.
func (w *walker) list(dl, ll []any, s *fieldpath.Set) bool {
	if len(dl) != len(ll) {
		return w.fail("the live list has %d elements, the render %d", len(ll), len(dl))
	}
	var owned []fieldpath.PathElement
	s.Members.Iterate(func(pe fieldpath.PathElement) { owned = append(owned, pe) })
	s.Children.Iterate(func(pe fieldpath.PathElement) {
		if !s.Members.Has(pe) {
			owned = append(owned, pe)
		}
	})
	if len(owned) != len(dl) {
		return w.fail("slipway owns %d elements, the render has %d", len(owned), len(dl))
	}
	used := make([]bool, len(owned))
	for i := range dl {
		w.path = append(w.path, fmt.Sprint(i))
		j := selecting(owned, dl[i], ll[i])
		if j < 0 || used[j] {
			return w.fail("no owned element selects it in both the render and the live list")
		}
		used[j] = true
		if !w.element(owned[j], dl[i], ll[i], s) {
			return false
		}
		w.path = w.path[:len(w.path)-1]
	}
	return true
}

// selecting finds the owned path element that selects both d (rendered)
// and l (live): by key fields for an associative list, by value for a set.
// A key field the render leaves out is taken from the live element (its
// default, see the assumption above). Index elements are not matched.
func selecting(owned []fieldpath.PathElement, d, l any) int {
	for j, pe := range owned {
		switch {
		case pe.Key != nil:
			dm, ok1 := d.(map[string]any)
			lm, ok2 := l.(map[string]any)
			if ok1 && ok2 && keyMatches(*pe.Key, dm, lm) {
				return j
			}
		case pe.Value != nil:
			v := (*pe.Value).Unstructured()
			if jsonEqual(d, v) && jsonEqual(l, v) {
				return j
			}
		}
	}
	return -1
}

func keyMatches(key value.FieldList, d, l map[string]any) bool {
	for _, f := range key {
		want := f.Value.Unstructured()
		lv, ok := l[f.Name]
		if !ok || !jsonEqual(lv, want) {
			return false
		}
		if dv, ok := d[f.Name]; ok && !jsonEqual(dv, want) {
			return false
		}
	}
	return len(key) > 0
}

// elementCount is how many distinct path elements s has at its top level.
func elementCount(s *fieldpath.Set) int {
	n := s.Members.Size()
	s.Children.Iterate(func(pe fieldpath.PathElement) {
		if !s.Members.Has(pe) {
			n++
		}
	})
	return n
}

// jsonEqual compares two values as the API server receives them: as JSON
// (so 2 and 2.0 are alike, "2" and 2 are not).
func jsonEqual(a, b any) bool {
	// Scalars of one type compare without encoding: the common case.
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64:
		if y, ok := b.(int64); ok {
			return x == y
		}
	}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
