package plan

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestNormalizedRemovesNoise(t *testing.T) {
	live := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name": "a", "namespace": "n", "uid": "123", "resourceVersion": "9", "generation": int64(2),
			"creationTimestamp": "2024-01-01T00:00:00Z", "selfLink": "/x",
			"managedFields": []any{map[string]any{"manager": "kubectl"}},
			"annotations":   map[string]any{lastApplied: "{}"},
			"labels":        map[string]any{},
		},
		"data":   map[string]any{"k": "v"},
		"status": map[string]any{"x": "y"},
	}}
	want := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": "a", "namespace": "n"},
		"data":       map[string]any{"k": "v"},
	}
	got, err := normalized(live, nil)
	if err != nil {
		t.Fatal(err)
	}
	text, err := testMask.printYAML(got)
	if err != nil {
		t.Fatal(err)
	}
	wantText, _ := testMask.printYAML(&unstructured.Unstructured{Object: want})
	if text != wantText {
		t.Errorf("normalised:\n%s\nwant:\n%s", text, wantText)
	}
	if _, ok := live.Object["status"]; !ok {
		t.Error("normalized changed its input")
	}
}

func TestPrintYAMLSortsKeys(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"kind": "X", "apiVersion": "v1", "b": 1, "a": map[string]any{"z": 1, "c": 2}}}
	got, err := testMask.printYAML(u)
	if err != nil {
		t.Fatal(err)
	}
	const want = "a:\n  c: 2\n  z: 1\napiVersion: v1\nb: 1\nkind: X\n"
	if got != want {
		t.Errorf("printYAML:\n%s\nwant:\n%s", got, want)
	}
}
