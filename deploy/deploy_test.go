// Package deploy holds slipway's install manifests (a Kustomize base); these
// tests keep them honest: slipway's own apply gets every object accepted by
// a real API server with RBAC and Pod Security admission, the pods it makes
// are admitted and scheduled, the RBAC grants what slipway needs, and the
// example config the Secret carries loads with the Deployment's overrides.
package deploy

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Nodes: the controller-manager turns the Deployment into pods, so Pod
// Security admission and the scheduler judge the real pod spec.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{Nodes: true})) }

// namespace is the kustomization's namespace: every namespaced object of
// the base lands in it.
const namespace = "slipway"

func renderBase(t *testing.T) *render.Result {
	t.Helper()
	res, err := render.Render(context.Background(), ".", &repoconfig.Environment{Name: "slipway", Path: "."}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != render.KindKustomize {
		t.Fatalf("deploy/ rendered as %s, want kustomize", res.Kind)
	}
	return res
}

// find converts the rendered object kind/name into out.
func find(t *testing.T, res *render.Result, kind, name string, out any) {
	t.Helper()
	for _, o := range res.Objects {
		if o.Object.GetKind() == kind && o.Object.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object.Object, out); err != nil {
				t.Fatalf("%s %s: %v", kind, name, err)
			}
			return
		}
	}
	t.Fatalf("deploy/ has no %s %s", kind, name)
}

// userRepo is what an operator would have: a repository whose
// .slipway.yaml has an environment at deploy/, holding this base.
func userRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "deploy", f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// wait: 0 because the image cannot run here; rollout is checked below.
	cfg := fmt.Sprintf("version: 1\nenvironments:\n  - {name: slipway, path: deploy, cluster: testenv, namespace: %s, wait: 0}\n", namespace)
	if err := os.WriteFile(filepath.Join(dir, repoconfig.FileName), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSlipwayAppliesTheBase(t *testing.T) {
	env := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	repo := userRepo(t)
	data, err := os.ReadFile(filepath.Join(repo, repoconfig.FileName))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := repoconfig.Parse(repoconfig.FileName, data)
	if err != nil {
		t.Fatal(err)
	}
	targets := kube.NewTargetCache(func(context.Context, kube.TargetKey) (kube.Target, error) {
		return kube.NewClusterTarget(env.Config(), plan.Options{})
	})

	// As `slipway apply slipway --yes` does: plan, then apply what was shown.
	planAndApply(t, ctx, repo, cfg, "slipway", targets)

	// Every rendered object is in the cluster.
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	kinds := map[string]bool{}
	for _, o := range renderBase(t).Objects {
		u := o.Object
		kinds[u.GetKind()] = true
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk.Kind, err)
		}
		if _, err := env.Dynamic().Resource(m.Resource).Namespace(u.GetNamespace()).Get(ctx, u.GetName(), metav1.GetOptions{}); err != nil {
			t.Errorf("%s %s/%s not in the cluster after apply: %v", gvk.Kind, u.GetNamespace(), u.GetName(), err)
		}
	}
	for _, want := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
		"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} {
		if !kinds[want] {
			t.Errorf("deploy/ has no %s", want)
		}
	}

	// Applying again changes nothing: no field the server defaults or
	// rewrites shows up as a perpetual diff.
	again, err := workflow.PrepareApply(ctx, repo, cfg, "slipway", "test", targets, workflow.PlanOptions{Repository: "slipwayhq/slipway"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Plan.HasChanges() {
		for _, ch := range again.Plan.Changes {
			if ch.Action != plan.Unchanged {
				t.Logf("%s %s %s/%s:\n%s\n---\n%s", ch.Action, ch.Ref.Kind, ch.Ref.Namespace, ch.Ref.Name, ch.Before, ch.After)
			}
		}
		t.Error("a second apply of the unchanged base would change something")
	}

	t.Run("its pods are admitted and scheduled", func(t *testing.T) {
		// A pod breaking the namespace's restricted Pod Security level
		// would stop the ReplicaSet at FailedCreate.
		deadline := time.Now().Add(time.Minute)
		for {
			d, err := env.Client().AppsV1().Deployments(namespace).Get(ctx, "slipway", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Status.ReadyReplicas == 2 {
				return
			}
			failed := slices.ContainsFunc(d.Status.Conditions, func(c appsv1.DeploymentCondition) bool {
				return c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue
			})
			if failed || time.Now().After(deadline) {
				t.Fatalf("Deployment slipway has %d/2 ready replicas%s", d.Status.ReadyReplicas, events(ctx, env))
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("its ServiceAccount may do what slipway does, and no more", func(t *testing.T) {
		checkRights(ctx, t, env)
	})
}

// events explains a rollout that did not happen (FailedCreate from Pod
// Security admission, FailedScheduling).
func events(ctx context.Context, env *testenv.Env) string {
	evs, err := env.Client().CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, e := range evs.Items {
		fmt.Fprintf(&b, "\n%s %s: %s", e.InvolvedObject.Kind, e.Reason, e.Message)
	}
	return b.String()
}

// checkRights asks the API server's RBAC authorizer what slipway's
// ServiceAccount may do once the base is applied.
func checkRights(ctx context.Context, t *testing.T, env *testenv.Env) {
	sa := "system:serviceaccount:" + namespace + ":slipway"
	tests := []struct {
		name string
		attr authv1.ResourceAttributes
		want bool
	}{
		{"take an environment lock", authv1.ResourceAttributes{Namespace: namespace, Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}, true},
		{"renew the leader lease", authv1.ResourceAttributes{Namespace: namespace, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "slipway-leader"}, true},
		{"watch leases", authv1.ResourceAttributes{Namespace: namespace, Verb: "watch", Group: "coordination.k8s.io", Resource: "leases"}, true},
		{"apply a Deployment anywhere", authv1.ResourceAttributes{Namespace: "shop", Verb: "patch", Group: "apps", Resource: "deployments"}, true},
		{"create a Namespace", authv1.ResourceAttributes{Verb: "create", Resource: "namespaces"}, true},
		{"prune a ConfigMap", authv1.ResourceAttributes{Namespace: "shop", Verb: "delete", Resource: "configmaps"}, true},
		{"impersonate an environment's ServiceAccount", authv1.ResourceAttributes{Namespace: "shop", Verb: "impersonate", Resource: "serviceaccounts", Name: "deployer"}, true},
		{"impersonate a ServiceAccount not named", authv1.ResourceAttributes{Namespace: "kube-system", Verb: "impersonate", Resource: "serviceaccounts", Name: "clusterrole-aggregation-controller"}, false},
		{"impersonate any ServiceAccount", authv1.ResourceAttributes{Namespace: "shop", Verb: "impersonate", Resource: "serviceaccounts"}, false},
		{"impersonate a user", authv1.ResourceAttributes{Verb: "impersonate", Resource: "users", Name: "admin"}, false},
		{"bind cluster-admin", authv1.ResourceAttributes{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "cluster-admin"}, false},
		{"escalate a role", authv1.ResourceAttributes{Namespace: "shop", Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "roles"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attr := tc.attr
			sar, err := env.Client().AuthorizationV1().SubjectAccessReviews().Create(ctx, &authv1.SubjectAccessReview{
				Spec: authv1.SubjectAccessReviewSpec{User: sa, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace}, ResourceAttributes: &attr},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != tc.want {
				t.Errorf("%s %s/%s in %q: allowed %v, want %v (%s)", attr.Verb, attr.Group, attr.Resource, attr.Namespace, sar.Status.Allowed, tc.want, sar.Status.Reason)
			}
		})
	}
}

// The Deployment's promises, read from the rendered base.
func TestDeploymentSpec(t *testing.T) {
	res := renderBase(t)
	var d appsv1.Deployment
	find(t, res, "Deployment", "slipway", &d)
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	port := func(name string) int32 {
		for _, p := range c.Ports {
			if p.Name == name {
				return p.ContainerPort
			}
		}
		return 0
	}
	psc, sc := pod.SecurityContext, c.SecurityContext

	checks := []struct {
		what string
		ok   bool
	}{
		{"2 replicas", d.Spec.Replicas != nil && *d.Spec.Replicas == 2},
		{"runs slipway serve -c /etc/slipway/config.yaml", slices.Equal(c.Args, []string{"serve", "-c", "/etc/slipway/config.yaml"})},
		{"port http is 8080", port("http") == 8080},
		{"liveness GET /healthz on http", c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == "/healthz" && c.LivenessProbe.HTTPGet.Port.String() == "http"},
		{"readiness GET /readyz on http", c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path == "/readyz" && c.ReadinessProbe.HTTPGet.Port.String() == "http"},
		{"runAsNonRoot", psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot},
		{"seccomp RuntimeDefault", psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"readOnlyRootFilesystem", sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		{"no privilege escalation", sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
		{"drops ALL capabilities", sc != nil && sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(sc.Capabilities.Add) == 0},
		{"requests cpu and memory", !c.Resources.Requests.Cpu().IsZero() && !c.Resources.Requests.Memory().IsZero()},
		{"limits memory", !c.Resources.Limits.Memory().IsZero()},
		{"spreads across nodes", slices.ContainsFunc(pod.TopologySpreadConstraints, func(s corev1.TopologySpreadConstraint) bool {
			return s.TopologyKey == corev1.LabelHostname && s.WhenUnsatisfiable == corev1.DoNotSchedule
		})},
		{"drains within the grace period", pod.TerminationGracePeriodSeconds != nil && time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second > config.DefaultShutdownTimeout},
		{"rolls out without losing a replica", d.Spec.Strategy.RollingUpdate != nil && d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() == 0},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("the Deployment does not meet: %s", ch.what)
		}
	}

	var svc corev1.Service
	find(t, res, "Service", "slipway", &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v, want 80 → http", svc.Spec.Ports)
	}
	var pdb policyv1.PodDisruptionBudget
	find(t, res, "PodDisruptionBudget", "slipway", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.String() != "1" {
		t.Errorf("PodDisruptionBudget minAvailable %v, want 1", pdb.Spec.MinAvailable)
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the PodDisruptionBudget selects %s=%s, which the pods do not carry", k, v)
		}
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, which the pods do not carry", k, v)
		}
	}
}

// The example config, as the Deployment runs it: mounted from the Secret
// with the Deployment's environment overrides.
func TestConfigExampleLoads(t *testing.T) {
	res := renderBase(t)
	var d appsv1.Deployment
	find(t, res, "Deployment", "slipway", &d)
	c := d.Spec.Template.Spec.Containers[0]

	var mount string
	for _, m := range c.VolumeMounts {
		if m.Name == "config" {
			mount = m.MountPath
		}
	}
	if got := c.Args[len(c.Args)-1]; filepath.Dir(got) != mount {
		t.Fatalf("serve reads %s, but the Secret is mounted at %q", got, mount)
	}

	environ := []string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			environ = append(environ, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			environ = append(environ, e.Name+"="+d.Namespace)
		default:
			t.Fatalf("env %s: the test does not know how to resolve %+v", e.Name, e.ValueFrom)
		}
	}
	data, err := os.ReadFile("config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The key file is only in the pod; point at a real one and check the
	// example names the mounted file.
	cfg, err := config.Parse("deploy/config.example.yaml", data, append(environ, "GITHUB_APP_PRIVATE_KEY_PATH="+writeKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(mount, "private-key.pem"); !strings.Contains(string(data), "private_key_path: "+want) {
		t.Errorf("config.example.yaml does not read the key from the mounted %s", want)
	}
	if cfg.Store.Kind != config.StoreKubernetes || cfg.Store.Namespace != namespace {
		t.Errorf("store %s in %q, want kubernetes in the pod's namespace %q", cfg.Store.Kind, cfg.Store.Namespace, namespace)
	}
	if cfg.Server.Address != ":8080" {
		t.Errorf("server.address %q, want :8080 (the container port)", cfg.Server.Address)
	}
	if len(cfg.Clusters) == 0 || !cfg.Clusters[0].InCluster {
		t.Error("the example does not target the cluster slipway runs in")
	}
}

func writeKey(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "private-key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// planAndApply does what `slipway apply ENV --yes` does: plan the
// environment env of the checkout at repo, fail on any object the API
// server refuses, then apply exactly what was planned.
func planAndApply(t *testing.T, ctx context.Context, repo string, cfg *repoconfig.Config, env string, targets kube.Targets) *workflow.PreparedApply {
	t.Helper()
	prepared, err := workflow.PrepareApply(ctx, repo, cfg, env, "test", targets, workflow.PlanOptions{Repository: "slipwayhq/slipway"})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	for _, ch := range prepared.Plan.Changes {
		if ch.Action == plan.Error {
			t.Errorf("the API server refused %s %s/%s: %s", ch.Ref.Kind, ch.Ref.Namespace, ch.Ref.Name, ch.Message)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	res, err := prepared.Apply(ctx, prepared.Plan.Digest, nil)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if res.Failed() {
		t.Fatalf("apply failed:\n%s", res.Text())
	}
	return prepared
}
