package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// NodeName is the name of the simulated Node that Options.Nodes creates.
const NodeName = "testenv-node"

// The simulated node's Lease lasts nodeLeaseSeconds (kwok renews it well
// within that), and the controller-manager waits nodeGracePeriod without a
// renewal before it calls the node NotReady.
const (
	nodeLeaseSeconds = 40
	nodeGracePeriod  = 2 * time.Minute
)

// fakeNodeIP is the address the simulated node reports. Nothing listens
// there, but anything that does try to reach "the kubelet" (kubectl logs,
// port-forward) stays on loopback.
const fakeNodeIP = "127.0.0.1"

// fakePodCIDR is where kwok takes fake pod IPs from; nothing routes there. It
// is disjoint from serviceClusterIPRange so pod and Service IPs never look
// alike in test output.
const fakePodCIDR = "10.244.0.0/16"

// nodesConfig is what the node-side components need from the rest of the env.
type nodesConfig struct {
	dir, binDir    string
	kubeconfigPath string
	caPath         string
	keys           serviceAccountKeys
	extraStages    []string
}

// startNodes runs kube-controller-manager, kube-scheduler and kwok, creates
// the simulated Node, and returns the processes once a probe pod has been
// scheduled and reported Ready, so a caller's first Deployment rolls out at
// once. On error the returned processes (possibly some) must still be
// stopped.
func startNodes(ctx context.Context, c nodesConfig, client kubernetes.Interface) ([]*Process, error) {
	var procs []*Process
	kubeconfigFlags := []string{
		"--kubeconfig", c.kubeconfigPath,
		"--authentication-kubeconfig", c.kubeconfigPath,
		"--authorization-kubeconfig", c.kubeconfigPath,
		// One instance each: leader election would only add a lease round.
		"--leader-elect=false",
		// No serving endpoint: nothing scrapes it, and no port to race for.
		"--secure-port=0",
	}

	kcm, err := StartProcess(c.dir, "kube-controller-manager", filepath.Join(c.binDir, binControllerManager),
		append(kubeconfigFlags,
			"--service-account-private-key-file", c.keys.privateKeyPath,
			"--root-ca-file", c.caPath,
			// node-ipam would need a --cluster-cidr; the node's podCIDR is
			// irrelevant to kwok. Everything else runs, in particular the
			// node lifecycle controller, which lifts the not-ready taint
			// once kwok reports the node Ready.
			"--controllers", "*,-node-ipam-controller",
			// A node whose heartbeat is late is marked NotReady, and so
			// is every pod on it, for good: kwok readies a pod once, when
			// it starts. A loaded machine must not cost a test its pods.
			"--node-monitor-grace-period", nodeGracePeriod.String(),
		), os.Environ())
	if err != nil {
		return procs, err
	}
	procs = append(procs, kcm)

	sched, err := StartProcess(c.dir, "kube-scheduler", filepath.Join(c.binDir, binScheduler), kubeconfigFlags, os.Environ())
	if err != nil {
		return procs, err
	}
	procs = append(procs, sched)

	stagesPath, err := writeStages(c.dir, c.binDir, c.extraStages)
	if err != nil {
		return procs, err
	}
	kwok, err := StartProcess(c.dir, "kwok", filepath.Join(c.binDir, binKwok), []string{
		"--kubeconfig", c.kubeconfigPath,
		"--manage-all-nodes=true",
		"--config", stagesPath,
		"--node-ip", fakeNodeIP,
		"--cidr", fakePodCIDR,
		// The stages' node heartbeat (node-heartbeat-with-lease) writes
		// the node's status every 10 minutes and leaves liveness to a
		// node Lease, which kwok keeps only when given its duration.
		// Without it the node went NotReady every 55 s, and the pods on
		// it never Ready again (a Deployment stuck at Available 0/1).
		"--node-lease-duration-seconds", strconv.Itoa(nodeLeaseSeconds),
	}, kwokEnv(c.dir))
	if err != nil {
		return procs, err
	}
	procs = append(procs, kwok)

	if err := createNode(ctx, client); err != nil {
		return procs, err
	}
	if err := waitFor(ctx, "the simulated node to become Ready and untainted", func(ctx context.Context) error {
		return nodeReady(ctx, client)
	}, procs...); err != nil {
		return procs, err
	}
	// Pods are rejected until their namespace's default ServiceAccount
	// exists, which the controller-manager creates shortly after start.
	if err := waitFor(ctx, "the default ServiceAccount", func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	}, procs...); err != nil {
		return procs, err
	}
	return procs, probePod(ctx, client, procs)
}

// kwokEnv points HOME at the env's directory: kwok also loads
// ~/.kwok/kwok.yaml when it exists, and a developer's own kwok config must not
// change the tests' stages.
func kwokEnv(dir string) []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir)
}

// createNode registers the simulated Node the way kwok's own node template
// does: kwok manages it (annotation), status comes from kwok's node stages,
// and its capacity is large enough never to be the reason a pod is Pending.
func createNode(ctx context.Context, client kubernetes.Interface) error {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: NodeName,
			Annotations: map[string]string{
				"kwok.x-k8s.io/node":           "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				"beta.kubernetes.io/arch":       "amd64",
				"beta.kubernetes.io/os":         "linux",
				"kubernetes.io/arch":            "amd64",
				"kubernetes.io/hostname":        NodeName,
				"kubernetes.io/os":              "linux",
				"kubernetes.io/role":            "agent",
				"node-role.kubernetes.io/agent": "",
				"type":                          "kwok",
			},
		},
		Status: corev1.NodeStatus{
			Allocatable: resources,
			Capacity:    resources,
			Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fakeNodeIP}},
			NodeInfo:    corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux"},
		},
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("testenv: create node %s: %w", NodeName, err)
	}
	return nil
}

// nodeReady succeeds once kwok reports the node Ready and the node lifecycle
// controller has removed the not-ready taint the apiserver puts on new nodes;
// before that the scheduler would not place pods there.
func nodeReady(ctx context.Context, client kubernetes.Interface) error {
	node, err := client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		return errors.New("node not Ready yet")
	}
	for _, t := range node.Spec.Taints {
		return fmt.Errorf("node still tainted %s:%s", t.Key, t.Effect)
	}
	return nil
}

// probePod runs one pod through the scheduler and kwok and deletes it, so
// that Start fails with the components' logs if any of them does not work,
// rather than leaving the first test to time out.
func probePod(ctx context.Context, client kubernetes.Interface, procs []*Process) error {
	pods := client.CoreV1().Pods(metav1.NamespaceDefault)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "testenv-probe"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "probe", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("testenv: create probe pod: %w", err)
	}
	err := waitFor(ctx, "a probe pod to be scheduled and Ready", func(ctx context.Context) error {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !PodReady(p) {
			return fmt.Errorf("probe pod phase %s on node %q, not Ready", p.Status.Phase, p.Spec.NodeName)
		}
		return nil
	}, procs...)
	if err != nil {
		return err
	}
	// kwok's pod-delete stage finishes the deletion at once; no need to wait.
	if err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("testenv: delete probe pod: %w", err)
	}
	return nil
}

// PodReady reports whether the pod's Ready condition is True.
func PodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
