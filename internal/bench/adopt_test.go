package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// BenchmarkAdopt1000 plans the first adoption of 1,000 objects (500
// Deployments, 500 ConfigMaps) that another tool created: every object
// only gets slipway's ApplySet label, which the plan comment shows as one
// "adopted, label only" line per kind instead of 1,000 diffs.
func BenchmarkAdopt1000(b *testing.B) {
	env := testenv.Get(b)
	slipway := buildSlipway(b)
	dyn, err := dynamic.NewForConfig(tuned(env))
	if err != nil {
		b.Fatal(err)
	}
	ns := testenv.NewNamespace(b, env)
	repo := b.TempDir()
	w := &workload{repo: repo, dir: filepath.Join(repo, "manifests"), namespace: ns}
	for i := 0; i < 1000; i++ {
		if i%2 == 0 {
			w.objects = append(w.objects, deployment(ns, i, "registry.example/web:1.0.0"))
		} else {
			w.objects = append(w.objects, configMap(ns, i, "v1"))
		}
	}
	applyAs(b, dyn, "other-tool", withoutLabels(w.objects), false)
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		b.Fatal(err)
	}
	writeManifests(b, w)
	config := fmt.Sprintf("version: 1\nenvironments:\n  - name: bench\n    path: manifests\n    cluster: testenv\n    namespace: %s\n", ns)
	if err := os.WriteFile(filepath.Join(repo, ".slipway.yaml"), []byte(config), 0o644); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(slipway, "plan", "--repo", w.repo, "--repository", benchRepository, "--kubeconfig", env.Kubeconfig(), "-o", "markdown")
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		start := time.Now()
		err := cmd.Run()
		elapsed := time.Since(start)
		if code := cmd.ProcessState.ExitCode(); code != 2 && code != 0 {
			b.Fatalf("slipway plan exit %d: %v\n%s", code, err, stderr.String())
		}
		md := out.String()
		if strings.Count(md, "adopted, label only") != 2 || !strings.Contains(md, "<b>Deployment</b> × 500") ||
			!strings.Contains(md, "<b>ConfigMap</b> × 500") || strings.Contains(md, "<details>") {
			b.Fatalf("the plan comment does not group the adoptions per kind:\n%.3000s", md)
		}
		counter, inProcess, p := countPlan(b, env, w, "")
		if c := p.Counts(); c.Update != 1000 {
			b.Fatalf("in-process plan: %+v, want 1,000 updates", c)
		}
		floor := measureFloor(b, env, w)
		b.ReportMetric(elapsed.Seconds(), "slipway-s")
		b.ReportMetric(floor.Seconds(), "floor-s")
		fmt.Printf("1000 objects adopted from another tool: slipway plan %.2fs, %d bytes of markdown, 2 grouped lines · floor %.2fs · slipway/floor %.2f×\n    in-process plan %.2fs, %s\n",
			elapsed.Seconds(), len(md), floor.Seconds(), elapsed.Seconds()/floor.Seconds(), inProcess.Seconds(), counter)
	}
}
