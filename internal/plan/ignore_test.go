package plan

import (
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  replicas: 2
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers: [{name: app, image: nginx:1.27}]
`

func (f *fixture) replicas(name string) int32 {
	f.t.Helper()
	d, err := f.kube.Client().AppsV1().Deployments(f.ns).Get(f.ctx(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return *d.Spec.Replicas
}

func TestIgnoredFieldChangedByOthers(t *testing.T) {
	f := newFixture(t)
	objs := f.objects(replaceName(deployment, "web"))
	f.apply(objs)
	// An autoscaler scales it through the scale subresource.
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: f.ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	if _, err := f.kube.Client().AppsV1().Deployments(f.ns).UpdateScale(f.ctx(), "web", scale, metav1.UpdateOptions{FieldManager: "autoscaler"}); err != nil {
		t.Fatal(err)
	}

	wantAction(t, change(t, f.plan(objs), "Deployment", "web"), Update) // without the rule

	tests := []struct {
		name   string
		ignore repoconfig.Ignore
		want   Action
	}{
		{"any deployment", repoconfig.Ignore{Kind: "Deployment", Paths: []string{"/spec/replicas"}}, Unchanged},
		{"by name and namespace", repoconfig.Ignore{Kind: "Deployment", Namespace: f.ns, Name: "web", Paths: []string{"/spec/replicas"}}, Unchanged},
		{"another name", repoconfig.Ignore{Kind: "Deployment", Name: "api", Paths: []string{"/spec/replicas"}}, Update},
		{"another kind", repoconfig.Ignore{Kind: "StatefulSet", Paths: []string{"/spec/replicas"}}, Update},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.env.Ignore = []repoconfig.Ignore{tc.ignore}
			wantAction(t, change(t, f.plan(objs), "Deployment", "web"), tc.want)
		})
	}

	// Applying with the rule leaves the autoscaler's value alone.
	f.env.Ignore = []repoconfig.Ignore{{Kind: "Deployment", Paths: []string{"/spec/replicas"}}}
	f.apply(objs)
	if got := f.replicas("web"); got != 5 {
		t.Errorf("replicas after apply = %d, want the autoscaler's 5", got)
	}
}

// When slipway alone set an ignored field, not sending it any more would
// remove it (spec.replicas would fall back to 1). The plan keeps sending the
// live value instead, and shows no change.
func TestIgnoredFieldSlipwayOwned(t *testing.T) {
	f := newFixture(t)
	objs := f.objects(replaceName(deployment, "web"))
	f.apply(objs)
	f.env.Ignore = []repoconfig.Ignore{{Kind: "Deployment", Paths: []string{"/spec/replicas"}}}
	objs[0].Object.Object["spec"].(map[string]any)["replicas"] = int64(9)
	wantAction(t, change(t, f.plan(objs), "Deployment", "web"), Unchanged)
	f.apply(objs)
	if got := f.replicas("web"); got != 2 {
		t.Errorf("replicas after apply = %d, want 2 as before", got)
	}
}

func replaceName(s, name string) string { return strings.ReplaceAll(s, "NAME", name) }
