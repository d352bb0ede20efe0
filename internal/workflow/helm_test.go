package workflow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// capableTarget knows its cluster's capabilities and records what it was
// asked to plan.
type capableTarget struct {
	planOnly
	caps     *render.Capabilities
	err      error
	rendered *render.Result
}

func (c *capableTarget) Capabilities(context.Context) (*render.Capabilities, error) {
	return c.caps, c.err
}

func (c *capableTarget) Compute(_ context.Context, _ *repoconfig.Environment, _ plan.Basis, r *render.Result) (*plan.Plan, error) {
	c.rendered = r
	return &plan.Plan{}, nil
}

// helmRepo is a checkout whose environment is a chart with a ServiceMonitor
// where the cluster serves monitoring.coreos.com/v1, a pre-upgrade Job with
// an unpinned image and a test hook.
func helmRepo(t *testing.T) (string, *repoconfig.Config) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		".slipway.yaml":           "version: 1\nenvironments:\n  - {name: staging, path: chart, cluster: c, namespace: shop}\n",
		"chart/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
		"chart/templates/monitor.yaml": `{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web}
{{- end }}
`,
		"chart/templates/hooks.yaml": `apiVersion: batch/v1
kind: Job
metadata: {name: migrate, annotations: {helm.sh/hook: pre-upgrade}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: "migrate:latest"}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: smoke, annotations: {helm.sh/hook: test}}
spec: {containers: [{name: t, image: "busybox:latest"}]}
`,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := repoconfig.Parse(".slipway.yaml", []byte(files[".slipway.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

func kinds(objs []render.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Object.GetKind())
	}
	return out
}

// A plan renders a chart with its target's capabilities, and a target whose
// capabilities cannot be discovered fails the plan, naming the cluster.
func TestPlanRendersWithTheTargetsCapabilities(t *testing.T) {
	tree, cfg := helmRepo(t)
	for _, tc := range []struct {
		name string
		caps *render.Capabilities
		want []string
	}{
		{"without the CRD", &render.Capabilities{KubeVersion: "v1.37.0", APIVersions: []string{"v1"}}, []string{"ConfigMap"}},
		{"with the CRD", &render.Capabilities{KubeVersion: "v1.37.0", APIVersions: []string{"v1", "monitoring.coreos.com/v1"}}, []string{"ConfigMap", "ServiceMonitor"}},
	} {
		target := &capableTarget{caps: tc.caps}
		p, err := PlanEnvironment(context.Background(), tree, cfg, "staging", "c0ffee", oneTarget{target}, PlanOptions{})
		if err != nil {
			t.Fatalf("%s: %v (%s)", tc.name, err, p.Err)
		}
		if got := kinds(target.rendered.Objects); !slices.Equal(got, tc.want) {
			t.Errorf("%s: rendered %q, want %q", tc.name, got, tc.want)
		}
	}
	target := &capableTarget{err: errors.New("discovery: connection refused")}
	p, _ := PlanEnvironment(context.Background(), tree, cfg, "staging", "c0ffee", oneTarget{target}, PlanOptions{})
	if !strings.Contains(p.Err, `cluster "c": discovery: connection refused`) || target.rendered != nil {
		t.Errorf("plan error %q; rendered %v", p.Err, target.rendered)
	}
}

// Policy rules weigh the hooks an apply may run, not only the release's
// objects, so a rule cannot be slipped past in a pre-upgrade Job; a test
// hook, which never runs, is not weighed.
func TestRulesWeighRunnableHooks(t *testing.T) {
	tree, cfg := helmRepo(t)
	env, _ := cfg.Environment("staging")
	s := &Session{Runner: &Runner{Targets: func(string) kube.Targets {
		return oneTarget{&capableTarget{caps: &render.Capabilities{KubeVersion: "v1.37.0"}}}
	}}}
	objs, err := s.renderObjects(context.Background(), tree, cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if want := []string{"ConfigMap/web", "Job/migrate"}; !slices.Equal(got, want) {
		t.Errorf("rules weigh %q, want %q", got, want)
	}
}
