package plan

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Objects another tool created, rendered as they are, only get slipway's
// ApplySet label: LabelOnly, for reports to group. One the render also
// changes is an ordinary update. The digest still covers each adopted
// object's content.
func TestAdoptionIsLabelOnly(t *testing.T) {
	f := newFixture(t)
	cms := f.kube.Client().CoreV1().ConfigMaps(f.ns)
	for _, name := range []string{"same", "edited"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "shop"}}, Data: map[string]string{"k": "v"}}
		if _, err := cms.Create(t.Context(), cm, metav1.CreateOptions{FieldManager: "helm"}); err != nil {
			t.Fatal(err)
		}
	}
	render := func(same string) *Plan {
		return f.plan(f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: same, labels: {app: shop}}
data: {k: ` + same + `}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: edited, labels: {app: shop}}
data: {k: changed}
`))
	}
	p := render("v")
	same, edited := change(t, p, "ConfigMap", "same"), change(t, p, "ConfigMap", "edited")
	wantAction(t, same, Update)
	wantAction(t, edited, Update)
	if !same.LabelOnly || edited.LabelOnly {
		t.Errorf("label only: same %v, edited %v; want true, false", same.LabelOnly, edited.LabelOnly)
	}
	if same.Before == "" || same.After == "" {
		t.Errorf("a label-only change keeps its before and after: %+v", same)
	}

	// The other tool changes the object, and the render follows: still
	// label only, but not the plan that was reviewed.
	live, err := cms.Get(t.Context(), "same", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live.Data["k"] = "w"
	if _, err := cms.Update(t.Context(), live, metav1.UpdateOptions{FieldManager: "helm"}); err != nil {
		t.Fatal(err)
	}
	again := render("w")
	if !change(t, again, "ConfigMap", "same").LabelOnly {
		t.Error("the adopted object is no longer label only")
	}
	if again.Digest == p.Digest {
		t.Error("the digest does not cover a label-only object's content")
	}
}
