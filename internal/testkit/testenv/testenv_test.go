package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestMain(m *testing.M) {
	code := Main(m, Options{Nodes: true, ExtraStages: []string{CrashLoopStage(CrashLoopLabel, "true")}})
	// Main has stopped the shared cluster. Check that it left no process
	// behind: this covers the node components, which the apiserver-only
	// cluster of TestAPIServerOnly does not run.
	if env := shared.env; env != nil {
		if alive := alivePids(env.pids()); len(alive) > 0 {
			fmt.Fprintf(os.Stderr, "testenv: processes %v still running after Main stopped the shared cluster\n", alive)
			code = 1
		}
	}
	os.Exit(code)
}

// alivePids returns those of pids that still exist.
func alivePids(pids []int) []int {
	var alive []int
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			alive = append(alive, pid)
		}
	}
	return alive
}

// eventually polls cond until it returns nil or timeout passes, then fails
// with cond's last error.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var err error
	for {
		if err = cond(ctx); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestAPIServerOnly(t *testing.T) {
	env := New(t, Options{})
	ctx := t.Context()
	ns := NewNamespace(t, env)

	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "greeting"},
		Data:       map[string]string{"hello": "world"},
	}
	if _, err := env.Client().CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ConfigMap: %v", err)
	}
	got, err := env.Client().CoreV1().ConfigMaps(ns).Get(ctx, "greeting", metav1.GetOptions{})
	if err != nil || got.Data["hello"] != "world" {
		t.Fatalf("read ConfigMap back: %v, data %v", err, got.Data)
	}

	// The kubeconfig file works on its own, through clientcmd, with the
	// real CA (no insecure TLS) and the "testenv" context.
	raw, err := clientcmd.LoadFromFile(env.Kubeconfig())
	if err != nil {
		t.Fatalf("load kubeconfig: %v", err)
	}
	if raw.CurrentContext != "testenv" || raw.Contexts["testenv"] == nil {
		t.Errorf("kubeconfig current context %q, contexts %v; want testenv", raw.CurrentContext, raw.Contexts)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig())
	if err != nil {
		t.Fatalf("build config from kubeconfig: %v", err)
	}
	if cfg.Insecure || len(cfg.CAData) == 0 {
		t.Errorf("kubeconfig TLS: insecure=%v, %d bytes of CA data; want the apiserver's CA", cfg.Insecure, len(cfg.CAData))
	}
	second, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client from kubeconfig: %v", err)
	}
	got, err = second.CoreV1().ConfigMaps(ns).Get(ctx, "greeting", metav1.GetOptions{})
	if err != nil || got.Data["hello"] != "world" {
		t.Fatalf("read ConfigMap through kubeconfig client: %v, data %v", err, got.Data)
	}
	if _, err := clientcmd.RESTConfigFromKubeConfig(env.KubeconfigBytes()); err != nil {
		t.Errorf("KubeconfigBytes do not parse: %v", err)
	}

	u, err := env.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).
		Namespace(ns).Get(ctx, "greeting", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read ConfigMap through dynamic client: %v", err)
	}
	if v, _, _ := unstructured.NestedString(u.Object, "data", "hello"); v != "world" {
		t.Errorf("dynamic ConfigMap data.hello = %q, want world", v)
	}

	// NewNamespace makes Pods creatable even with no controller-manager to
	// create the default ServiceAccount.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/app:1"}}},
	}
	if _, err := env.Client().CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Errorf("create Pod in NewNamespace namespace: %v", err)
	}

	// Stop leaves no process and no files, and is idempotent.
	pids := env.pids()
	if len(pids) != 2 {
		t.Errorf("started %d processes, want 2 (etcd, kube-apiserver)", len(pids))
	}
	if alive := alivePids(pids); len(alive) != len(pids) {
		t.Fatalf("before Stop only %v of %v are running", alive, pids)
	}
	if err := env.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if alive := alivePids(pids); len(alive) > 0 {
		t.Errorf("processes %v still running after Stop", alive)
	}
	if _, err := os.Stat(env.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s still there after Stop (stat: %v)", env.dir, err)
	}
	if err := env.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestNodeReady(t *testing.T) {
	env := Get(t)
	node, err := env.Client().CoreV1().Nodes().Get(t.Context(), NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get node: %v", err)
	}
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	if !ready {
		t.Errorf("node %s not Ready: %+v", NodeName, node.Status.Conditions)
	}
	if len(node.Spec.Taints) > 0 {
		t.Errorf("node %s tainted: %v", NodeName, node.Spec.Taints)
	}
	if got := node.Status.Allocatable.Pods().Value(); got != 110 {
		t.Errorf("node allocatable pods = %d, want 110", got)
	}
}

// The node stays Ready because kwok renews its Lease: without one, the
// controller-manager marked it NotReady after its grace period, and every
// pod on it NotReady for good (CI saw Deployments stuck at Available 0/1).
func TestNodeLeaseRenewed(t *testing.T) {
	env := Get(t)
	var first time.Time
	eventually(t, 30*time.Second, "kwok renews the node's Lease", func(ctx context.Context) error {
		l, err := env.Client().CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, NodeName, metav1.GetOptions{})
		switch {
		case err != nil:
			return err
		case l.Spec.RenewTime == nil:
			return fmt.Errorf("lease %s has no renewTime", l.Name)
		case first.IsZero():
			first = l.Spec.RenewTime.Time
		}
		if !l.Spec.RenewTime.After(first) {
			return fmt.Errorf("lease %s not renewed since %s", l.Name, first.Format(time.TimeOnly))
		}
		return nil
	})
}

func deployment(name string, replicas int32, labels map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}},
				},
			},
		},
	}
}

func TestDeploymentRollsOut(t *testing.T) {
	env := Get(t)
	ns := NewNamespace(t, env)
	start := time.Now()
	d := deployment("web", 3, map[string]string{"app": "web"})
	if _, err := env.Client().AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Deployment: %v", err)
	}
	eventually(t, 60*time.Second, "Deployment web available", func(ctx context.Context) error {
		got, err := env.Client().AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.AvailableReplicas != 3 {
			return fmt.Errorf("availableReplicas=%d readyReplicas=%d", got.Status.AvailableReplicas, got.Status.ReadyReplicas)
		}
		return nil
	})
	t.Logf("3 replicas available after %s", time.Since(start).Round(time.Millisecond))

	pods, err := env.Client().CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != NodeName || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s on node %q in phase %s, want Running on %s", p.Name, p.Spec.NodeName, p.Status.Phase, NodeName)
		}
	}
}

func TestCrashLoopStage(t *testing.T) {
	env := Get(t)
	ns := NewNamespace(t, env)
	pods := env.Client().CoreV1().Pods(ns)
	newPod := func(name string, labels map[string]string, restart corev1.RestartPolicy) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: corev1.PodSpec{
				RestartPolicy: restart,
				Containers:    []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}},
			},
		}
	}
	crash := map[string]string{CrashLoopLabel: "true"}
	for _, p := range []*corev1.Pod{
		newPod("healthy", nil, corev1.RestartPolicyAlways),
		newPod("crashing", crash, corev1.RestartPolicyAlways),
		newPod("failing", crash, corev1.RestartPolicyNever),
		// Same key, other value: the stage must not take it.
		newPod("other-value", map[string]string{CrashLoopLabel: "false"}, corev1.RestartPolicyAlways),
	} {
		if _, err := pods.Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
	// Once a pod's stage has been applied its status stays put, so waiting
	// for the final state and then checking it again a little later shows
	// the labelled pods never become Ready.
	waitPod := func(name string, cond func(*corev1.Pod) error) {
		eventually(t, 30*time.Second, "pod "+name, func(ctx context.Context) error {
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			return cond(p)
		})
	}
	ready := func(p *corev1.Pod) error {
		if !PodReady(p) {
			return fmt.Errorf("phase %s, not Ready", p.Status.Phase)
		}
		return nil
	}
	crashLooping := func(p *corev1.Pod) error {
		if PodReady(p) {
			return errors.New("Ready")
		}
		if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) != 1 ||
			p.Status.ContainerStatuses[0].State.Waiting == nil ||
			p.Status.ContainerStatuses[0].State.Waiting.Reason != "CrashLoopBackOff" {
			return fmt.Errorf("phase %s, containers %+v; want Running in CrashLoopBackOff", p.Status.Phase, p.Status.ContainerStatuses)
		}
		return nil
	}
	failed := func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodFailed || len(p.Status.ContainerStatuses) != 1 ||
			p.Status.ContainerStatuses[0].State.Terminated == nil ||
			p.Status.ContainerStatuses[0].State.Terminated.ExitCode != 1 {
			return fmt.Errorf("phase %s, containers %+v; want Failed with exit code 1", p.Status.Phase, p.Status.ContainerStatuses)
		}
		return nil
	}
	waitPod("healthy", ready)
	waitPod("other-value", ready)
	waitPod("crashing", crashLooping)
	waitPod("failing", failed)

	time.Sleep(3 * time.Second)
	for name, cond := range map[string]func(*corev1.Pod) error{"crashing": crashLooping, "failing": failed, "healthy": ready} {
		p, err := pods.Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get pod %s: %v", name, err)
		}
		if err := cond(p); err != nil {
			t.Errorf("pod %s 3s later: %v", name, err)
		}
	}
}

func TestCrashLoopDeploymentNeverAvailable(t *testing.T) {
	env := Get(t)
	ns := NewNamespace(t, env)
	d := deployment("broken", 2, map[string]string{"app": "broken", CrashLoopLabel: "true"})
	if _, err := env.Client().AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Deployment: %v", err)
	}
	// Both pods exist and crash, and no others pile up: the ReplicaSet keeps
	// crash-looping pods rather than replacing them.
	eventually(t, 30*time.Second, "2 crash-looping pods", func(ctx context.Context) error {
		list, err := env.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=broken"})
		if err != nil {
			return err
		}
		n := 0
		for _, p := range list.Items {
			if s := p.Status.ContainerStatuses; len(s) == 1 && s[0].State.Waiting != nil && s[0].State.Waiting.Reason == "CrashLoopBackOff" {
				n++
			}
		}
		if n != 2 || len(list.Items) != 2 {
			return fmt.Errorf("%d pods, %d crash-looping", len(list.Items), n)
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	got, err := env.Client().AppsV1().Deployments(ns).Get(t.Context(), "broken", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Deployment: %v", err)
	}
	if got.Status.AvailableReplicas != 0 || got.Status.ReadyReplicas != 0 || got.Status.UnavailableReplicas != 2 {
		t.Errorf("status available=%d ready=%d unavailable=%d, want 0, 0, 2",
			got.Status.AvailableReplicas, got.Status.ReadyReplicas, got.Status.UnavailableReplicas)
	}
}

func TestBinDirMissingNamesMakeTestbin(t *testing.T) {
	t.Setenv("SLIPWAY_TESTBIN", t.TempDir())
	_, err := BinDir()
	if err == nil || !strings.Contains(err.Error(), "make testbin") {
		t.Fatalf("BinDir with an empty dir: err = %v, want one naming `make testbin`", err)
	}
	// Start reports the same, before starting anything.
	if _, err := Start(t.Context(), Options{}); err == nil || !strings.Contains(err.Error(), "make testbin") {
		t.Fatalf("Start with an empty bin dir: err = %v, want one naming `make testbin`", err)
	}
}

func TestBinDirPath(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SLIPWAY_TESTBIN": "/x", "XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/x"},
		{map[string]string{"XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/c/slipway/testbin"},
		{map[string]string{"HOME": "/h"}, "/h/.cache/slipway/testbin"},
	} {
		got, err := binDirPath(func(k string) string { return tc.env[k] })
		if err != nil || got != tc.want {
			t.Errorf("binDirPath(%v) = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := binDirPath(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "make testbin") {
		t.Errorf("binDirPath with no env: err = %v, want one naming `make testbin`", err)
	}
}

func TestExtraStagesNeedNodes(t *testing.T) {
	if _, err := Start(t.Context(), Options{ExtraStages: []string{"x"}}); err == nil {
		t.Fatal("Start accepted ExtraStages without Nodes")
	}
}

func TestNamespaceName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	for _, name := range []string{
		"TestFoo",
		"TestFoo/sub_case#01",
		"Test--weird__Name/ÄÖ/" + strings.Repeat("x", 100),
		"/",
	} {
		got := namespaceName(name)
		if len(got) > 63 || !valid.MatchString(got) {
			t.Errorf("namespaceName(%q) = %q, not a valid namespace name", name, got)
		}
	}
	if a, b := namespaceName("TestX"), namespaceName("TestX"); a == b {
		t.Errorf("namespaceName gave %q twice", a)
	}
}
