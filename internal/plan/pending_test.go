package plan

import (
	"strings"
	"testing"
)

// Objects whose kind or namespace the same plan creates cannot be dry-run
// yet; apply creates the CRD or Namespace first, so they plan as creates.
func TestCreatedAfterCRDInSamePlan(t *testing.T) {
	f := newFixture(t)
	group := f.ns + ".example.com" // CRDs are cluster-wide: one group per test
	p := f.plan(f.objects(strings.ReplaceAll(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.GROUP}
spec:
  group: GROUP
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: GROUP/v1
kind: Widget
metadata: {name: w}
spec: {size: 3}
`, "GROUP", group)))
	if p.Counts().Error != 0 {
		t.Fatalf("plan %v", summary(p))
	}
	wantAction(t, p.Changes[0], Create) // CRDs come first
	if p.Changes[0].Ref.Kind != "CustomResourceDefinition" {
		t.Fatalf("first change %s", p.Changes[0].Ref)
	}
	w := change(t, p, "Widget", "w")
	wantAction(t, w, Create)
	if w.Message != "created after its CustomResourceDefinition widgets."+group+" in this plan" {
		t.Errorf("message %q", w.Message)
	}
	if w.Ref.Namespace != f.ns || !strings.Contains(w.After, "size: 3") || !strings.Contains(w.After, "namespace: "+f.ns) {
		t.Errorf("widget %+v", w)
	}
}

func TestCreatedAfterNamespaceInSamePlan(t *testing.T) {
	f := newFixture(t)
	fresh := f.ns + "-new"
	p := f.plan(f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: ` + fresh + `}
data: {k: v}
---
apiVersion: v1
kind: Namespace
metadata: {name: ` + fresh + `}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: orphan, namespace: ` + f.ns + `-missing}
`))
	if got := summary(p); got[0] != "create Namespace/"+fresh {
		t.Fatalf("plan %v: the Namespace should come first", got)
	}
	cm := change(t, p, "ConfigMap", "cm")
	wantAction(t, cm, Create)
	if cm.Message != "created after its Namespace "+fresh+" in this plan" || !strings.Contains(cm.After, "k: v") {
		t.Errorf("configmap %+v", cm)
	}
	// A namespace nobody creates is still an error.
	orphan := change(t, p, "ConfigMap", "orphan")
	wantAction(t, orphan, Error)
	if !strings.Contains(orphan.Message, "not found") {
		t.Errorf("orphan message %q", orphan.Message)
	}
}
