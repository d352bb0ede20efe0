package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// shared is the one cluster of a test binary. It has to be package state:
// TestMain and the tests share nothing else, and starting a cluster per test
// would cost seconds each. Main sets opts before any test runs and stops env
// after the last; Get starts env on first use, so a binary whose selected
// tests never call Get starts nothing.
var shared struct {
	mu      sync.Mutex
	inMain  bool // Main is running m.Run
	opts    Options
	started bool // a start was attempted; err holds its failure
	env     *Env
	err     error
}

// Main runs the tests with a cluster shared by the whole test binary, started
// by the first Get and stopped when the tests end. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{Nodes: true})) }
//
// When tests fail, the cluster's logs are kept and their directory printed.
// A component that crashed during the run makes the run fail even if every
// test passed, since tests may have passed by not noticing it.
func Main(m *testing.M, opts Options) int {
	shared.mu.Lock()
	shared.inMain, shared.opts = true, opts
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.inMain = false
	if shared.env == nil {
		return code
	}
	keep := code != 0
	if err := shared.env.stop(keep); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		keep = true
		if code == 0 {
			code = 1
		}
	}
	if keep {
		fmt.Fprintf(os.Stderr, "testenv: control plane logs kept in %s\n", shared.env.dir)
	}
	return code
}

// Get returns the test binary's shared cluster, starting it on first use with
// the Options given to Main. It fails the test (never skips it) if the cluster
// cannot start, including when the binaries are missing: the message then
// names `make testbin`.
func Get(t testing.TB) *Env {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("testenv.Get: the package needs a TestMain that calls testenv.Main, e.g.\n" +
			"\tfunc TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{})) }")
	}
	if !shared.started {
		// Holding the lock while starting makes parallel tests wait for the
		// one start instead of racing to run their own.
		shared.started = true
		shared.env, shared.err = Start(context.Background(), shared.opts)
		if shared.err == nil {
			t.Logf("testenv: shared control plane up in %s (kube-apiserver ready after %s)",
				shared.env.allUp.Round(time.Millisecond), shared.env.apiServerUp.Round(time.Millisecond))
		}
	}
	if shared.err != nil {
		// Every later test fails with the same error at once rather than
		// waiting through another doomed start.
		t.Fatalf("shared control plane did not start: %v", shared.err)
	}
	return shared.env
}

// New starts a private cluster for one test and stops it at the test's
// cleanup, keeping its logs if the test failed. Prefer Get: a cluster takes
// seconds to start. New is for tests that need other Options than the
// package's, or that stop the cluster themselves.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	e, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("testenv: control plane up in %s (kube-apiserver ready after %s)",
		e.allUp.Round(time.Millisecond), e.apiServerUp.Round(time.Millisecond))
	t.Cleanup(func() {
		keep := t.Failed()
		if err := e.stop(keep); err != nil {
			t.Error(err)
			keep = true
		}
		if keep {
			t.Logf("testenv: control plane logs kept in %s", e.dir)
		}
	})
	return e
}

// NewNamespace creates a namespace with a unique name derived from the test's
// name and deletes it at cleanup. Tests sharing a cluster isolate themselves
// by namespace. The namespace's default ServiceAccount exists on return, so
// Pods can be created in it at once (the controller-manager would create it
// a moment later, and without Options.Nodes not at all).
func NewNamespace(t testing.TB, e *Env) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := namespaceName(t.Name())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("testenv: create namespace %s: %v", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := e.Client().CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("testenv: create default ServiceAccount in %s: %v", name, err)
	}
	t.Cleanup(func() {
		if e.isStopped() {
			return // the test stopped its own cluster; nothing to delete from
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Not waiting for the namespace to go: its contents are deleted in
		// the background (without Options.Nodes, never), and no later test
		// reuses the name.
		err := e.Client().CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("testenv: delete namespace %s: %v", name, err)
		}
	})
	return name
}

// namespaceName turns a test name into a valid, unique namespace name: a
// readable prefix (lowercase letters, digits, dashes) plus a random suffix,
// at most 63 characters.
func namespaceName(testName string) string {
	var b strings.Builder
	dash := true // no leading dash, no runs of dashes
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	prefix := strings.TrimRight(b.String(), "-")
	if len(prefix) > 50 {
		prefix = strings.TrimRight(prefix[:50], "-")
	}
	if prefix == "" {
		prefix = "test"
	}
	return prefix + "-" + randomSuffix(6)
}

// randomSuffix returns n random lowercase letters and digits.
func randomSuffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	buf := make([]byte, n)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails
	for i := range buf {
		buf[i] = alphabet[int(buf[i])%len(alphabet)]
	}
	return string(buf)
}
