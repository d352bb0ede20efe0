package plan

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Hand-written live objects with managed fields, as the apiserver writes
// them: the rules of provablyUnchanged one by one. The differential test
// (differential_test.go) checks the same rules against a real apiserver.
func TestProvablyUnchanged(t *testing.T) {
	const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ns, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web:1
        ports: [{containerPort: 8080}]
        resources: {limits: {cpu: 500m}}
`
	// What slipway's last apply of deployment owns; the port's key has
	// the protocol the apiserver defaulted.
	const owned = `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},
"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{},
"f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}},"f:resources":{"f:limits":{"f:cpu":{}}}}}}}}}`
	const controller = `{"f:metadata":{"f:annotations":{".":{},"f:deployment.kubernetes.io/revision":{}}}}`
	liveDeployment := func(edit func(u *unstructured.Unstructured)) *unstructured.Unstructured {
		u := decode(t, deployment)
		protocol := u.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["ports"].([]any)[0].(map[string]any)
		protocol["protocol"] = "TCP"
		u.SetAnnotations(map[string]string{"deployment.kubernetes.io/revision": "1"})
		u.SetResourceVersion("7")
		withManagers(t, u, "slipway", "Apply", "apps/v1", owned, "kube-controller-manager", "Update", "apps/v1", controller)
		if edit != nil {
			edit(u)
		}
		return u
	}
	containers := func(u *unstructured.Unstructured) []any {
		c, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		return c
	}
	setContainers := func(u *unstructured.Unstructured, c []any) {
		if err := unstructured.SetNestedSlice(u.Object, c, "spec", "template", "spec", "containers"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		desired   func() *unstructured.Unstructured
		live      *unstructured.Unstructured
		unchanged bool
		why       string
	}{
		{name: "as applied, port protocol defaulted", desired: func() *unstructured.Unstructured { return decode(t, deployment) },
			live: liveDeployment(nil), unchanged: true},
		{name: "replicas 2.0 is 2 on the wire", desired: func() *unstructured.Unstructured {
			u := decode(t, deployment)
			u.Object["spec"].(map[string]any)["replicas"] = 2.0
			return u
		}, live: liveDeployment(nil), unchanged: true},
		{name: "a quantity in another spelling", desired: func() *unstructured.Unstructured {
			return decode(t, strings.Replace(deployment, "cpu: 500m", "cpu: 0.5", 1))
		}, live: liveDeployment(nil), why: "the live value differs"},
		{name: "a new image", desired: func() *unstructured.Unstructured { return decode(t, strings.Replace(deployment, "web:1", "web:2", 1)) },
			live: liveDeployment(nil), why: "the live value differs"},
		{name: "a field removed from the manifest", desired: func() *unstructured.Unstructured {
			u := decode(t, deployment)
			unstructured.RemoveNestedField(u.Object, "spec", "replicas")
			return u
		}, live: liveDeployment(nil), why: "at [spec]: slipway owns 3 fields here, the render sets 2"},
		{name: "a field slipway does not own yet", desired: func() *unstructured.Unstructured {
			u := decode(t, deployment)
			u.Object["spec"].(map[string]any)["minReadySeconds"] = int64(0)
			return u
		}, live: liveDeployment(func(u *unstructured.Unstructured) { u.Object["spec"].(map[string]any)["minReadySeconds"] = int64(0) }), why: "not owned"},
		{name: "a null", desired: func() *unstructured.Unstructured {
			u := decode(t, deployment)
			u.Object["spec"].(map[string]any)["replicas"] = nil
			return u
		}, live: liveDeployment(nil), why: "null"},
		{name: "a sidecar another tool added", desired: func() *unstructured.Unstructured { return decode(t, deployment) },
			live: liveDeployment(func(u *unstructured.Unstructured) {
				setContainers(u, append(containers(u), map[string]any{"name": "proxy", "image": "proxy:1"}))
			}), why: "the live list has 2 elements, the render 1"},
		{name: "a field shared with a hand edit", desired: func() *unstructured.Unstructured { return decode(t, deployment) },
			live: liveDeployment(func(u *unstructured.Unstructured) {
				withManagers(t, u, "slipway", "Apply", "apps/v1", owned, "kubectl-edit", "Update", "apps/v1", `{"f:spec":{"f:replicas":{}}}`)
			}), why: "fields shared with kubectl-edit"},
		{name: "applied by kubectl, not slipway", desired: func() *unstructured.Unstructured { return decode(t, deployment) },
			live: liveDeployment(func(u *unstructured.Unstructured) {
				withManagers(t, u, "kubectl", "Apply", "apps/v1", owned)
			}), why: "not applied by slipway"},
		{name: "applied by slipway at another version", desired: func() *unstructured.Unstructured { return decode(t, deployment) },
			live: liveDeployment(func(u *unstructured.Unstructured) {
				withManagers(t, u, "slipway", "Apply", "apps/v1beta2", owned)
			}), why: "not applied by slipway at apps/v1"},
		{name: "being deleted", desired: func() *unstructured.Unstructured { return decode(t, deployment) },
			live: liveDeployment(func(u *unstructured.Unstructured) {
				u.Object["metadata"].(map[string]any)["deletionTimestamp"] = "2026-12-02T10:00:00Z"
			}), why: "being deleted"},
		{name: "absent", desired: func() *unstructured.Unstructured { return decode(t, deployment) }, why: "not in the cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := provablyUnchanged(tt.desired(), tt.live, "slipway")
			if ok != tt.unchanged || !strings.Contains(why, tt.why) {
				t.Errorf("unchanged %v (%s), want %v (%s)", ok, why, tt.unchanged, tt.why)
			}
		})
	}
}

// A set (finalizers) must match in order, and an owned element the render
// dropped makes a candidate.
func TestProvablyUnchangedSets(t *testing.T) {
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns, finalizers: [a/x, b/y]}\ndata: {k: v}\n"
	const owned = `{"f:data":{"f:k":{}},"f:metadata":{"f:finalizers":{"v:\"a/x\"":{},"v:\"b/y\"":{}}}}`
	live := decode(t, cm)
	withManagers(t, live, "slipway", "Apply", "v1", owned)
	for _, tt := range []struct {
		desired   string
		unchanged bool
	}{
		{cm, true},
		{strings.Replace(cm, "[a/x, b/y]", "[b/y, a/x]", 1), false},
		{strings.Replace(cm, "[a/x, b/y]", "[a/x]", 1), false},
		{strings.Replace(cm, "[a/x, b/y]", "[a/x, a/x]", 1), false},
	} {
		if ok, why := provablyUnchanged(decode(t, tt.desired), live, "slipway"); ok != tt.unchanged {
			t.Errorf("%s: unchanged %v (%s), want %v", tt.desired, ok, why, tt.unchanged)
		}
	}
}

func decode(t *testing.T, text string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(text), &u.Object); err != nil {
		t.Fatal(err)
	}
	// As the render and the apiserver's JSON decode them: integers are int64.
	b, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return out
}

// withManagers sets u's managed fields: groups of manager, operation,
// apiVersion and FieldsV1 JSON.
func withManagers(t *testing.T, u *unstructured.Unstructured, fields ...string) {
	t.Helper()
	var entries []any
	for i := 0; i+3 < len(fields); i += 4 {
		var set any
		if err := yaml.Unmarshal([]byte(fields[i+3]), &set); err != nil {
			t.Fatalf("fields of %s: %v", fields[i], err)
		}
		entries = append(entries, map[string]any{"manager": fields[i], "operation": fields[i+1], "apiVersion": fields[i+2],
			"fieldsType": "FieldsV1", "fieldsV1": set})
	}
	if err := unstructured.SetNestedSlice(u.Object, entries, "metadata", "managedFields"); err != nil {
		t.Fatal(err)
	}
}
