// Package testenv runs a real etcd and kube-apiserver (and optionally the
// controllers, scheduler and kwok nodes) for tests.
//
// Everything runs as child processes on loopback from the binaries that
// `make testbin` builds (see BinDir). A package's tests normally share one
// cluster, started on first use and stopped when the test binary ends:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{Nodes: true})) }
//
//	func TestSomething(t *testing.T) {
//		env := testenv.Get(t)
//		ns := testenv.NewNamespace(t, env)
//		_, err := env.Client().CoreV1().ConfigMaps(ns).Create(...)
//	}
//
// With Options.Nodes, Deployments really roll out: kube-controller-manager
// creates ReplicaSets and Pods, kube-scheduler binds them to one simulated
// Node, and kwok plays the kubelet, marking pods Running and Ready within a
// second. CrashLoopStage makes chosen pods fail instead.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options selects what Start runs besides etcd and kube-apiserver.
type Options struct {
	// Nodes also runs kube-controller-manager, kube-scheduler and kwok with
	// one simulated Node (NodeName), so workloads roll out.
	Nodes bool
	// ExtraStages are additional kwok Stage YAML documents (for example
	// CrashLoopStage) appended to kwok's fast node and pod stages. They need
	// Nodes.
	ExtraStages []string
}

// startTimeout bounds Start when its context has no deadline. Both cores of a
// test machine may be busy with other builds, so it is generous: a healthy
// start takes seconds.
const startTimeout = 2 * time.Minute

// Env is a running test cluster. Its methods are safe for concurrent use.
type Env struct {
	dir            string     // temp dir: data, certs, kubeconfig, logs
	procs          []*Process // in start order; stopped in reverse
	cfg            *rest.Config
	kubeconfigPath string
	kubeconfig     []byte
	client         kubernetes.Interface
	dynamic        dynamic.Interface

	// Startup durations, for the log line Get and New print.
	apiServerUp, allUp time.Duration

	stopOnce sync.Once
	stopErr  error
	stopped  chan struct{} // closed when Stop has finished
}

// Start runs a cluster as described by opts and returns once it serves
// requests (and, with Nodes, once a pod really becomes Ready). ctx bounds the
// startup only; the cluster runs until Stop. On error nothing is left
// running. A missing binary is reported with the command that builds it.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if len(opts.ExtraStages) > 0 && !opts.Nodes {
		return nil, errors.New("testenv: Options.ExtraStages needs Options.Nodes: without kwok no stage runs")
	}
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	dir, err := os.MkdirTemp("", "slipway-testenv-")
	if err != nil {
		return nil, fmt.Errorf("testenv: create temp dir: %w", err)
	}
	e := &Env{dir: dir, stopped: make(chan struct{})}
	if err := e.start(ctx, binDir, opts); err != nil {
		// Keep the logs the error points at; the processes must go.
		_ = e.stop(true)
		return nil, err
	}
	return e, nil
}

func (e *Env) start(ctx context.Context, binDir string, opts Options) error {
	began := time.Now()
	keys, err := writeServiceAccountKeys(e.dir)
	if err != nil {
		return err
	}
	token, tokenFile, err := writeTokenFile(e.dir)
	if err != nil {
		return err
	}
	etcd, etcdURL, err := startEtcd(ctx, e.dir, binDir)
	if err != nil {
		return err
	}
	e.procs = append(e.procs, etcd)
	api, err := startAPIServer(ctx, apiServerConfig{
		dir: e.dir, binDir: binDir, etcdURL: etcdURL,
		keys: keys, tokenFile: tokenFile, token: token,
	})
	if err != nil {
		return err
	}
	e.procs = append(e.procs, api.proc)
	e.apiServerUp = time.Since(began)

	if err := e.initClients(api, token); err != nil {
		return err
	}
	if opts.Nodes {
		// A stable copy of the CA for the controller-manager, which
		// publishes it to pods as kube-root-ca.crt.
		caPath := filepath.Join(e.dir, "ca.crt")
		if err := os.WriteFile(caPath, api.caPEM, 0o600); err != nil {
			return fmt.Errorf("testenv: write CA file: %w", err)
		}
		procs, err := startNodes(ctx, nodesConfig{
			dir: e.dir, binDir: binDir, kubeconfigPath: e.kubeconfigPath,
			caPath: caPath, keys: keys, extraStages: opts.ExtraStages,
		}, e.client)
		e.procs = append(e.procs, procs...)
		if err != nil {
			return err
		}
	}
	e.allUp = time.Since(began)
	return nil
}

// initClients builds the admin config, kubeconfig file and clients.
func (e *Env) initClients(api *apiServer, token string) error {
	e.cfg = restConfig(api.host, token, api.caPEM)
	kc, err := kubeconfigBytes(e.cfg)
	if err != nil {
		return err
	}
	e.kubeconfig = kc
	e.kubeconfigPath = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.kubeconfigPath, kc, 0o600); err != nil {
		return fmt.Errorf("testenv: write kubeconfig: %w", err)
	}
	if e.client, err = kubernetes.NewForConfig(e.Config()); err != nil {
		return fmt.Errorf("testenv: create client: %w", err)
	}
	if e.dynamic, err = dynamic.NewForConfig(e.Config()); err != nil {
		return fmt.Errorf("testenv: create dynamic client: %w", err)
	}
	return nil
}

// Config returns a copy of the admin (system:masters) client config; callers
// may change it freely.
func (e *Env) Config() *rest.Config { return rest.CopyConfig(e.cfg) }

// Kubeconfig returns the path of a kubeconfig file whose cluster, user and
// context are all named "testenv", for kubectl and clientcmd. The file is
// removed by Stop.
func (e *Env) Kubeconfig() string { return e.kubeconfigPath }

// KubeconfigBytes returns the contents of the Kubeconfig file.
func (e *Env) KubeconfigBytes() []byte { return append([]byte(nil), e.kubeconfig...) }

// Client returns a typed admin client.
func (e *Env) Client() kubernetes.Interface { return e.client }

// Dynamic returns a dynamic admin client.
func (e *Env) Dynamic() dynamic.Interface { return e.dynamic }

// Stop stops every process Start started and removes the temp dir. It is
// idempotent; every call returns the first call's result, which reports any
// component that had exited before Stop was called (a crash that tests may
// have seen only as timeouts).
func (e *Env) Stop() error { return e.stop(false) }

// stop stops the processes and, unless keepDir is set, removes the temp dir;
// a kept dir is there for its logs.
func (e *Env) stop(keepDir bool) error {
	e.stopOnce.Do(func() {
		defer close(e.stopped)
		var errs []error
		for _, p := range e.procs {
			errs = append(errs, p.crashErr())
		}
		// Reverse start order: clients of the apiserver first, etcd last,
		// so nothing spends its grace period retrying a vanished server.
		for i := len(e.procs) - 1; i >= 0; i-- {
			e.procs[i].stop()
		}
		if !keepDir {
			if err := os.RemoveAll(e.dir); err != nil {
				errs = append(errs, fmt.Errorf("testenv: remove %s: %w", e.dir, err))
			}
		}
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// isStopped reports whether Stop has completed.
func (e *Env) isStopped() bool {
	select {
	case <-e.stopped:
		return true
	default:
		return false
	}
}

// pids returns the ids of the processes Start started, for tests.
func (e *Env) pids() []int {
	pids := make([]int, 0, len(e.procs))
	for _, p := range e.procs {
		pids = append(pids, p.pid())
	}
	return pids
}
