package plan

import (
	"fmt"

	"github.com/fluxcd/pkg/ssa/normalize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// lastApplied is client-side apply's copy of the whole object: noise in a
// diff, and for a Secret a copy of every value in the clear.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// noisyMetadata are the fields the apiserver maintains on every object: they
// differ between any two reads and say nothing about what apply changes.
var noisyMetadata = []string{
	"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink",
}

// normalized returns a copy of u as a reviewer should compare it: server
// bookkeeping and status removed, a Secret's stringData folded into data,
// and ignored paths dropped. Secret values are still in the clear;
// masker.masked does that, after the comparison.
func normalized(u *unstructured.Unstructured, ignored []string) (*unstructured.Unstructured, error) {
	out := u.DeepCopy()
	// Works around an apiserver dry-run quirk (duplicated HPA metrics) and is
	// a no-op for every other kind; an HPA it cannot convert is compared as is.
	_ = normalize.DryRunUnstructured(out)
	for _, f := range noisyMetadata {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	delete(out.Object, "status")
	if a := out.GetAnnotations(); a != nil {
		delete(a, lastApplied)
		setOrDrop(out, "annotations", a)
	}
	if l := out.GetLabels(); l != nil {
		setOrDrop(out, "labels", l)
	}
	if isSecret(out) {
		foldStringData(out)
	}
	if err := removePaths(out, ignored); err != nil {
		return nil, err
	}
	return out, nil
}

// setOrDrop writes a labels or annotations map back, or removes it when it
// ended up empty, so "no labels" and "labels: {}" compare equal.
func setOrDrop(u *unstructured.Unstructured, field string, m map[string]string) {
	if len(m) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", field)
		return
	}
	if field == "labels" {
		u.SetLabels(m)
	} else {
		u.SetAnnotations(m)
	}
}

// printYAML prints a normalised object for the report: masked, as YAML with
// sorted keys, so the same object always prints the same.
func (m masker) printYAML(u *unstructured.Unstructured) (string, error) {
	if u == nil {
		return "", nil
	}
	b, err := yaml.Marshal(m.masked(u).Object)
	if err != nil {
		return "", fmt.Errorf("print %s: %w", refOf(u), err)
	}
	return string(b), nil
}
