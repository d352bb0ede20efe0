package apply

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Objects another tool created and the render leaves as they are are
// reported adopted (they only got the ApplySet label), one the render
// changes configured; both are then this environment's, and unchanged
// on the next apply.
func TestAdoptionsReportedAdopted(t *testing.T) {
	f := newFixture(t)
	cms := f.kube.Client().CoreV1().ConfigMaps(f.ns)
	for _, name := range []string{"same", "edited"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}
		if _, err := cms.Create(f.ctx(), cm, metav1.CreateOptions{FieldManager: "helm"}); err != nil {
			t.Fatal(err)
		}
	}
	const set = `
apiVersion: v1
kind: ConfigMap
metadata: {name: same}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: edited}
data: {k: changed}
`
	p, objs := f.plan(set)
	res := Run(f.ctx(), f.engine, f.env, p, objs)
	mustSucceed(t, res)
	wantOutcome(t, res, "ConfigMap", "same", Adopted)
	wantOutcome(t, res, "ConfigMap", "edited", Configured)
	if got := res.Summary(); got != "1 configured, 1 adopted" {
		t.Errorf("summary %q", got)
	}
	f.honest(res, p)
	for _, name := range []string{"same", "edited"} {
		live, err := cms.Get(f.ctx(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if live.Labels["applyset.kubernetes.io/part-of"] == "" {
			t.Errorf("%s has no ApplySet label after the apply: %v", name, live.Labels)
		}
	}
	again := f.apply(set)
	mustSucceed(t, again)
	if got := again.Summary(); got != "2 unchanged" {
		t.Errorf("second apply: %q, want 2 unchanged", got)
	}
}
