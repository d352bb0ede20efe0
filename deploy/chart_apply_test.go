package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// chartRepo is an operator's repository holding the chart at deploy/chart
// with two environments: the chart's defaults and every knob turned.
// Releases and namespaces differ from the Kustomize base's, so the tests
// share one API server without owning each other's objects.
func chartRepo(t *testing.T) (string, *repoconfig.Config) {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "deploy", chartDir), os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(fullValues)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deploy", "values-full.yaml"), full, 0o644); err != nil {
		t.Fatal(err)
	}
	// wait: 0 because the image cannot run here; rollout is checked below.
	cfg := `version: 1
environments:
  - {name: chart-default, path: deploy/chart, cluster: testenv, namespace: chart-default, wait: 0, helm: {release: chart-default}}
  - {name: chart-full, path: deploy/chart, cluster: testenv, namespace: chart-full, wait: 0, helm: {release: ops, values: [../values-full.yaml]}}
`
	if err := os.WriteFile(filepath.Join(dir, repoconfig.FileName), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	parsed, err := repoconfig.Parse(repoconfig.FileName, []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return dir, parsed
}

// The chart, with its defaults and with every knob turned, applied by
// slipway's own apply to a real API server: every object accepted, the
// pods admitted at the restricted Pod Security level and scheduled, a
// second apply changing nothing, and the RBAC granting what the values say.
func TestSlipwayAppliesTheChart(t *testing.T) {
	env := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	installServiceMonitorCRD(ctx, t, env)
	repo, cfg := chartRepo(t)
	targets := kube.NewTargetCache(func(context.Context, kube.TargetKey) (kube.Target, error) {
		return kube.NewClusterTarget(env.Config(), plan.Options{})
	})
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(env.Config())))

	for _, tc := range []struct {
		env, deployment string
		replicas        int32
	}{
		{"chart-default", "chart-default-slipway", 2},
		{"chart-full", "ops-slipway", 1},
	} {
		t.Run(tc.env, func(t *testing.T) {
			// As the README says: the namespace first, at the restricted level.
			_, err := env.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tc.env, Labels: map[string]string{
				"pod-security.kubernetes.io/enforce": "restricted",
			}}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			prepared := planAndApply(t, ctx, repo, cfg, tc.env, targets)
			for _, ch := range prepared.Plan.Changes {
				gvk := schema.GroupVersionKind{Group: ch.Ref.Group, Version: ch.Ref.Version, Kind: ch.Ref.Kind}
				m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
				if err != nil {
					t.Fatalf("%s: %v", gvk.Kind, err)
				}
				if _, err := env.Dynamic().Resource(m.Resource).Namespace(ch.Ref.Namespace).Get(ctx, ch.Ref.Name, metav1.GetOptions{}); err != nil {
					t.Errorf("%s %s/%s not in the cluster after apply: %v", gvk.Kind, ch.Ref.Namespace, ch.Ref.Name, err)
				}
			}

			again, err := workflow.PrepareApply(ctx, repo, cfg, tc.env, "test", targets, workflow.PlanOptions{Repository: "slipwayhq/slipway"})
			if err != nil {
				t.Fatal(err)
			}
			if again.Plan.HasChanges() {
				for _, ch := range again.Plan.Changes {
					if ch.Action != plan.Unchanged {
						t.Logf("%s %s %s/%s:\n%s\n---\n%s", ch.Action, ch.Ref.Kind, ch.Ref.Namespace, ch.Ref.Name, ch.Before, ch.After)
					}
				}
				t.Error("a second apply of the unchanged chart would change something")
			}

			deadline := time.Now().Add(time.Minute)
			for {
				d, err := env.Client().AppsV1().Deployments(tc.env).Get(ctx, tc.deployment, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if d.Status.ReadyReplicas == tc.replicas {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Deployment %s has %d/%d ready replicas%s", tc.deployment, d.Status.ReadyReplicas, tc.replicas, eventsIn(ctx, env, tc.env))
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}

	t.Run("the full values' RBAC", func(t *testing.T) {
		sa := "system:serviceaccount:chart-full:ops-slipway"
		for _, tc := range []struct {
			name string
			attr authv1.ResourceAttributes
			want bool
		}{
			{"impersonate a ServiceAccount the values name", authv1.ResourceAttributes{Namespace: "shop", Verb: "impersonate", Resource: "serviceaccounts", Name: "shop-deployer"}, true},
			{"impersonate one they do not", authv1.ResourceAttributes{Namespace: "shop", Verb: "impersonate", Resource: "serviceaccounts", Name: "admin"}, false},
			{"apply a Deployment (applyRules)", authv1.ResourceAttributes{Namespace: "shop", Verb: "patch", Group: "apps", Resource: "deployments"}, true},
			{"apply a Secret (not in applyRules)", authv1.ResourceAttributes{Namespace: "shop", Verb: "patch", Resource: "secrets"}, false},
			{"take a lock in its namespace", authv1.ResourceAttributes{Namespace: "chart-full", Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}, true},
			{"take a lock elsewhere", authv1.ResourceAttributes{Namespace: "chart-default", Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}, false},
		} {
			attr := tc.attr
			sar, err := env.Client().AuthorizationV1().SubjectAccessReviews().Create(ctx, &authv1.SubjectAccessReview{
				Spec: authv1.SubjectAccessReviewSpec{User: sa, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:chart-full"}, ResourceAttributes: &attr},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != tc.want {
				t.Errorf("%s: allowed %v, want %v", tc.name, sar.Status.Allowed, tc.want)
			}
		}
	})
}

// installServiceMonitorCRD stands in for the Prometheus Operator, whose
// CRD a cluster with serviceMonitor.enabled has.
func installServiceMonitorCRD(ctx context.Context, t *testing.T, env *testenv.Env) {
	t.Helper()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "servicemonitors.monitoring.coreos.com"},
		"spec": map[string]any{
			"group": "monitoring.coreos.com",
			"scope": "Namespaced",
			"names": map[string]any{"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor", "listKind": "ServiceMonitorList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := env.Dynamic().Resource(gvr).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := env.Dynamic().Resource(gvr).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the ServiceMonitor CRD is not established")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func eventsIn(ctx context.Context, env *testenv.Env, ns string) string {
	evs, err := env.Client().CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	out := ""
	for _, e := range evs.Items {
		out += fmt.Sprintf("\n%s %s: %s", e.InvolvedObject.Kind, e.Reason, e.Message)
	}
	return out
}
