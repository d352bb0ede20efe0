package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// BenchmarkApply1000 measures the first apply of 1,000 objects (500
// Deployments, 500 ConfigMaps, no health wait), then a second apply after
// 100 of them changed, by `slipway apply --yes` (the binary: process start,
// discovery, render, plan, apply), by `kubectl apply --server-side`, and by
// the floor: the 1,000 server-side apply requests alone, 32 in flight. Each
// tool works in its own namespace, so each first apply creates everything.
//
// It also measures the safe floor: what any tool that writes nothing
// before the cluster has accepted every object must send, a dry-run of
// each object that changes and then its apply, 32 in flight. slipway
// dry-runs the objects its plan shows (and the apply refuses a plan with
// an object the cluster rejects), so a first apply is bounded below by
// this, not by the floor: on this API server a dry-run costs about what
// the apply does.
func BenchmarkApply1000(b *testing.B) { benchmarkApply(b, 1000, 100) }

func benchmarkApply(b *testing.B, n, changed int) {
	env := testenv.Get(b)
	slipway := buildSlipway(b)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		b.Fatal("kubectl is needed for the comparison: install it (Debian package kubectl or the upstream binary) and rerun make bench")
	}
	floorDyn := floorClient(b, env)
	kc := env.Kubeconfig()

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newApplySet(b, env, n, "slipway")
		k := newApplySet(b, env, n, "kubectl")
		f := newApplySet(b, env, n, "floor")
		safe := newApplySet(b, env, n, "floor")
		b.StartTimer()

		var rounds [2]struct {
			slipway      toolRun
			kubectl      time.Duration
			floor, safe  time.Duration
			safeDryRun   time.Duration // the safe floor's dry-run pass
			name, expect string
		}
		for round := range rounds {
			r := &rounds[round]
			r.name, r.expect = "first apply", fmt.Sprintf("(%d created)", n)
			if round == 1 {
				b.StopTimer()
				for _, set := range []*applySet{s, k, f, safe} {
					set.change(b, changed)
				}
				b.StartTimer()
				r.name, r.expect = fmt.Sprintf("%d changed", changed), fmt.Sprintf("(%d configured, %d unchanged)", changed, n-changed)
			}
			r.slipway = runSlipwayApply(b, slipway, s, kc, r.expect)
			r.kubectl = runKubectlApply(b, kubectl, k, kc)
			start := time.Now()
			applyAll(b, floorDyn, f.objects, false)
			r.floor = time.Since(start)
			writes := safe.objects
			if round == 1 {
				writes = safe.objects[:changed] // change edits the first ones
			}
			start = time.Now()
			applyAll(b, floorDyn, writes, true)
			r.safeDryRun = time.Since(start)
			applyAll(b, floorDyn, writes, false)
			r.safe = time.Since(start)

			prefix := "first-"
			if round == 1 {
				prefix = "change-"
			}
			b.ReportMetric(r.slipway.seconds, prefix+"slipway-s")
			b.ReportMetric(r.kubectl.Seconds(), prefix+"kubectl-s")
			b.ReportMetric(r.floor.Seconds(), prefix+"floor-s")
			b.ReportMetric(r.safe.Seconds(), prefix+"safe-floor-s")
			b.ReportMetric(r.slipway.peakMiB, prefix+"slipway-peak-MiB")
			fmt.Printf("%d objects, %s: slipway apply %.2fs (peak %.0f MiB) · floor %.2fs · slipway/floor %.2f× · safe floor (dry-run, then apply, each changed object) %.2fs (dry-runs %.2fs) = %.2f× the floor · slipway/safe floor %.2f× · kubectl apply --server-side %.2fs · kubectl/slipway %.2f×\n",
				n, r.name, r.slipway.seconds, r.slipway.peakMiB, r.floor.Seconds(), r.slipway.seconds/r.floor.Seconds(),
				r.safe.Seconds(), r.safeDryRun.Seconds(), r.safe.Seconds()/r.floor.Seconds(), r.slipway.seconds/r.safe.Seconds(),
				r.kubectl.Seconds(), r.kubectl.Seconds()/r.slipway.seconds)
		}
	}
}

// applySet is one tool's copy of the workload: its namespace, its objects
// and, for the command-line tools, the manifests on disk.
type applySet struct {
	repo, dir, namespace string
	objects              []*unstructured.Unstructured
}

func newApplySet(b *testing.B, env *testenv.Env, n int, tool string) *applySet {
	b.Helper()
	ns := testenv.NewNamespace(b, env)
	repo := b.TempDir()
	s := &applySet{repo: repo, dir: filepath.Join(repo, "manifests"), namespace: ns}
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			s.objects = append(s.objects, deployment(ns, i, "registry.example/web:1.0.0"))
		} else {
			s.objects = append(s.objects, configMap(ns, i, "v1"))
		}
	}
	if tool == "floor" {
		return s
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		b.Fatal(err)
	}
	writeManifests(b, &workload{dir: s.dir, objects: s.objects})
	if tool == "slipway" {
		config := fmt.Sprintf("version: 1\nenvironments:\n  - name: bench\n    path: manifests\n    cluster: testenv\n    namespace: %s\n    wait: 0\n", ns)
		if err := os.WriteFile(filepath.Join(repo, ".slipway.yaml"), []byte(config), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// change edits the first n objects (a new image, a new config version) and
// rewrites the manifests.
func (s *applySet) change(b *testing.B, n int) {
	b.Helper()
	for i := 0; i < n; i++ {
		if s.objects[i].GetKind() == "Deployment" {
			s.objects[i] = deployment(s.namespace, i, "registry.example/web:2.0.0")
		} else {
			s.objects[i] = configMap(s.namespace, i, "v2")
		}
	}
	if _, err := os.Stat(s.dir); err == nil {
		writeManifests(b, &workload{dir: s.dir, objects: s.objects})
	}
}

// runSlipwayApply runs `slipway apply --yes` and checks that its result
// line says expect.
func runSlipwayApply(b *testing.B, bin string, s *applySet, kubeconfig, expect string) toolRun {
	b.Helper()
	cmd := exec.Command(bin, "apply", "bench", "--repo", s.repo, "--repository", benchRepository, "--kubeconfig", kubeconfig, "--yes")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("slipway apply: %v\n%s\n%s", err, stderr.String(), tail(out.String(), 3000))
	}
	if want := "bench: applied " + expect; !strings.Contains(out.String(), want) {
		b.Fatalf("slipway apply did not report %q:\n%s", want, tail(out.String(), 3000))
	}
	rusage := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return toolRun{seconds: elapsed.Seconds(), peakMiB: float64(rusage.Maxrss) / 1024}
}

func runKubectlApply(b *testing.B, bin string, s *applySet, kubeconfig string) time.Duration {
	b.Helper()
	cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", s.dir)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("kubectl apply: %v\n%s", err, stderr.String())
	}
	return elapsed
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
