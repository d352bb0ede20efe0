package plan

import (
	"strings"
	"testing"
)

func TestCreateUpdateUnchanged(t *testing.T) {
	f := newFixture(t)
	f.apply(f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: same}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: edited}
data: {k: "1"}
`))
	p := f.plan(f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: same}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: edited}
data: {k: "2"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: new}
data: {k: "3"}
`))
	t.Log(summary(p))
	wantAction(t, change(t, p, "ConfigMap", "same"), Unchanged)
	up := change(t, p, "ConfigMap", "edited")
	wantAction(t, up, Update)
	if !strings.Contains(up.Before, `k: "1"`) || !strings.Contains(up.After, `k: "2"`) {
		t.Errorf("update before/after:\n%s\n%s", up.Before, up.After)
	}
	for _, noise := range []string{"managedFields", "resourceVersion", "uid:", "creationTimestamp", "generation"} {
		if strings.Contains(up.Before+up.After, noise) {
			t.Errorf("update shows %s:\n%s\n%s", noise, up.Before, up.After)
		}
	}
	cr := change(t, p, "ConfigMap", "new")
	wantAction(t, cr, Create)
	if cr.Before != "" || !strings.Contains(cr.After, `k: "3"`) || cr.File != "test.yaml" || cr.Line != 3 {
		t.Errorf("create: %+v", cr)
	}
	if c := p.Counts(); c != (Counts{Create: 1, Update: 1, Unchanged: 1}) {
		t.Errorf("counts %+v", c)
	}
}

// The manifests leave out everything the apiserver defaults (strategy,
// protocol, imagePullPolicy, terminationMessagePath, sessionAffinity, …): a
// plan that compared them with the live object would show those forever.
func TestDefaultedFieldsAreNoChange(t *testing.T) {
	f := newFixture(t)
	objs := f.objects(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`)
	f.apply(objs)
	p := f.plan(objs)
	wantAction(t, change(t, p, "Deployment", "web"), Unchanged)
	wantAction(t, change(t, p, "Service", "web"), Unchanged)

	// A real edit still shows, with the defaulted fields on both sides.
	objs[0].Object.Object["spec"].(map[string]any)["replicas"] = int64(3)
	p = f.plan(objs)
	up := change(t, p, "Deployment", "web")
	wantAction(t, up, Update)
	if !strings.Contains(up.Before, "replicas: 1") || !strings.Contains(up.After, "replicas: 3") {
		t.Errorf("update:\n%s\n%s", up.Before, up.After)
	}
}

func TestUnplannableObjectsAreErrors(t *testing.T) {
	tests := []struct {
		name, text string
		line       int
		want       string // in the message
	}{
		{
			name: "unknown kind",
			text: "apiVersion: nowhere.example.com/v1\nkind: Widget\nmetadata: {name: x}\n",
			line: 1, want: "install its CustomResourceDefinition first",
		},
		{
			name: "rendered twice",
			text: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: NS}\n",
			line: 2, want: "rendered twice: also in test.yaml:1",
		},
		{
			name: "invalid field",
			text: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {k: v}\nbogus: true\n",
			line: 1, want: "bogus",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := f.plan(f.objects(tc.text))
			var errs []Change
			for _, ch := range p.Changes {
				if ch.Action == Error {
					errs = append(errs, ch)
				}
			}
			if len(errs) != 1 || errs[0].Line != tc.line || !strings.Contains(errs[0].Message, tc.want) {
				t.Fatalf("plan %v, errors %+v: want one error at line %d saying %q", summary(p), errs, tc.line, tc.want)
			}
			t.Logf("message: %s", errs[0].Message)
		})
	}
}
