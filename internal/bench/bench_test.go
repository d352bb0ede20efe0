package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{})) }

// inFlight is the floor's concurrency, the same as the plan engine's default.
const inFlight = 32

// benchRepository is the repository the benchmarks plan and apply as.
const benchRepository = "bench/bench"

var (
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

// workload is a directory of manifests already applied to the cluster, then
// edited so that some of them differ from the live objects.
type workload struct {
	repo, dir, namespace string
	objects              []*unstructured.Unstructured
	changed              int
}

func BenchmarkPlan1000(b *testing.B) { benchmarkPlan(b, 1000, 100, true) }

func BenchmarkPlan10000(b *testing.B) { benchmarkPlan(b, 10000, 1000, false) }

func benchmarkPlan(b *testing.B, n, changed int, withKubectl bool) {
	env := testenv.Get(b)
	slipway := buildSlipway(b)
	var kubectl string
	if withKubectl {
		var err error
		if kubectl, err = exec.LookPath("kubectl"); err != nil {
			b.Fatal("kubectl is needed for the comparison: install it (Debian package kubectl or the upstream binary) and rerun make bench")
		}
	}
	w := prepare(b, env, n, changed)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := runSlipway(b, slipway, w, env)
		floor := measureFloor(b, env, w)
		b.ReportMetric(s.seconds, "slipway-s")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(s.peakMiB, "slipway-peak-MiB")
		line := fmt.Sprintf("%d objects, %d changed: slipway plan %.2fs (peak %.0f MiB, %d changes found) · floor %.2fs · slipway/floor %.2f×",
			n, changed, s.seconds, s.peakMiB, s.changes, floor.Seconds(), s.seconds/floor.Seconds())
		if withKubectl {
			k := runKubectl(b, kubectl, w, env.Kubeconfig())
			b.ReportMetric(k.seconds, "kubectl-s")
			line += fmt.Sprintf(" · kubectl diff --server-side %.2fs (%d changes found) · kubectl/slipway %.2f×", k.seconds, k.changes, k.seconds/s.seconds)
			if k.changes != s.changes {
				b.Errorf("change counts differ: slipway %d, kubectl %d", s.changes, k.changes)
			}
		}
		if s.changes != w.changed {
			b.Errorf("slipway found %d changes, want %d", s.changes, w.changed)
		}
		fast, fastTime, fp := countPlan(b, env, w, "")
		all, allTime, ap := countPlan(b, env, w, repoconfig.VerifyAll)
		if changesOf(fp) != w.changed || fp.Digest != ap.Digest {
			b.Errorf("in-process plans: %d changes with the fast path, %d with verify: all, digests equal %v; want %d and equal",
				changesOf(fp), changesOf(ap), fp.Digest == ap.Digest, w.changed)
		}
		b.ReportMetric(float64(fast.total()), "slipway-requests")
		line += fmt.Sprintf("\n    in-process plan %.2fs, %s · with verify: all %.2fs, %s · fast/all %.2f×",
			fastTime.Seconds(), fast, allTime.Seconds(), all, fastTime.Seconds()/allTime.Seconds())
		fmt.Println(line)
	}
}

// prepare writes n manifests (half Deployments, half ConfigMaps), applies
// them, then edits `changed` of them on disk.
func prepare(b *testing.B, env *testenv.Env, n, changed int) *workload {
	b.Helper()
	ns := testenv.NewNamespace(b, env)
	repo := b.TempDir()
	w := &workload{repo: repo, dir: filepath.Join(repo, "manifests"), namespace: ns, changed: changed}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			w.objects = append(w.objects, deployment(ns, i, "registry.example/web:1.0.0"))
		} else {
			w.objects = append(w.objects, configMap(ns, i, "v1"))
		}
	}
	dyn, err := dynamic.NewForConfig(tuned(env))
	if err != nil {
		b.Fatal(err)
	}
	// Apply what slipway's apply would leave: the objects as members of the
	// environment's ApplySet, recorded in its inventory, so a plan of
	// unchanged manifests is empty.
	id := plan.ApplySetID(plan.InventoryName(benchRepository, "bench"), ns)
	live := make([]*unstructured.Unstructured, len(w.objects))
	for i, u := range w.objects {
		live[i] = u.DeepCopy()
		live[i].SetLabels(map[string]string{"applyset.kubernetes.io/part-of": id})
	}
	applyAll(b, dyn, live, false)
	recordInventory(b, env, benchRepository, "bench", ns, w.objects)

	for i := 0; i < changed; i++ {
		u := w.objects[i]
		if u.GetKind() == "Deployment" {
			w.objects[i] = deployment(ns, i, "registry.example/web:2.0.0")
		} else {
			w.objects[i] = configMap(ns, i, "v2")
		}
	}
	writeManifests(b, w)
	config := fmt.Sprintf("version: 1\nenvironments:\n  - name: bench\n    path: manifests\n    cluster: testenv\n    namespace: %s\n    prune: false\n", ns)
	if err := os.WriteFile(filepath.Join(repo, ".slipway.yaml"), []byte(config), 0o644); err != nil {
		b.Fatal(err)
	}
	return w
}

// recordInventory writes the ApplySet parent of repository repo's
// environment name (namespace ns) for objects, as slipway's apply does, so
// that a plan lists them as members.
func recordInventory(b *testing.B, env *testenv.Env, repo, name, ns string, objects []*unstructured.Unstructured) {
	b.Helper()
	engine, err := plan.NewEngine(tuned(env), plan.Options{})
	if err != nil {
		b.Fatal(err)
	}
	refs := make([]plan.Ref, len(objects))
	for i, u := range objects {
		gvk := u.GroupVersionKind()
		refs[i] = plan.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
	}
	if err := engine.WriteInventory(context.Background(), repo, &repoconfig.Environment{Name: name, Namespace: ns}, refs); err != nil {
		b.Fatal(err)
	}
}

func deployment(ns string, i int, image string) *unstructured.Unstructured {
	labels := map[string]any{"app": fmt.Sprintf("web-%d", i)}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": fmt.Sprintf("web-%d", i), "namespace": ns},
		"spec": map[string]any{
			"replicas": int64(2),
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "web", "image": image,
					"ports": []any{map[string]any{"containerPort": int64(8080)}},
				}}},
			},
		},
	}}
}

func configMap(ns string, i int, version string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": fmt.Sprintf("config-%d", i), "namespace": ns},
		"data":     map[string]any{"version": version, "settings.yaml": "log_level: info\nfeatures: [a, b, c]\n"},
	}}
}

// manifestsPerFile is how many objects a repository's file holds.
const manifestsPerFile = 100

// writeManifests writes the objects to files, as a repository would hold them.
func writeManifests(b *testing.B, w *workload) {
	b.Helper()
	for k, chunk := range manifestChunks(b, w.objects) {
		name := filepath.Join(w.dir, fmt.Sprintf("objects-%05d.yaml", k*manifestsPerFile))
		if err := os.WriteFile(name, []byte(chunk), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// manifestChunks renders the objects as YAML streams of manifestsPerFile
// objects each.
func manifestChunks(b *testing.B, objects []*unstructured.Unstructured) []string {
	b.Helper()
	var out []string
	for start := 0; start < len(objects); start += manifestsPerFile {
		var buf bytes.Buffer
		for _, u := range objects[start:min(start+manifestsPerFile, len(objects))] {
			data, err := json.Marshal(u.Object)
			if err != nil {
				b.Fatal(err)
			}
			buf.WriteString("---\n")
			buf.Write(data) // JSON is YAML
			buf.WriteString("\n")
		}
		out = append(out, buf.String())
	}
	return out
}

// writeFile writes content to dir/name, readable only by its owner, and
// returns the path.
func writeFile(b *testing.B, dir, name, content string) string {
	b.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

func freeAddress(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomSecret() string {
	buf := make([]byte, 20)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

type toolRun struct {
	seconds float64
	peakMiB float64
	changes int
}

func runSlipway(b *testing.B, bin string, w *workload, env *testenv.Env) toolRun {
	b.Helper()
	// Through a server config, whose render limit is raised for the
	// largest workload, as an operator would for such an environment.
	cmd := exec.Command(bin, "plan", "--repo", w.repo, "--repository", benchRepository, "--config", serverConfig(b, env, 2*len(w.objects)), "-o", "json")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if code := cmd.ProcessState.ExitCode(); code != 2 && code != 0 {
		b.Fatalf("slipway plan exit %d: %v\n%s\n%.2000s", code, err, stderr.String(), out.String())
	}
	var report struct {
		Plans []struct {
			Summary struct{ Create, Update, Delete, Error int } `json:"summary"`
		} `json:"plans"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil || len(report.Plans) != 1 {
		b.Fatalf("slipway plan JSON: %v\n%.2000s", err, out.String())
	}
	s := report.Plans[0].Summary
	if s.Error > 0 {
		b.Fatalf("slipway plan reported %d errors", s.Error)
	}
	rusage := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return toolRun{seconds: elapsed.Seconds(), peakMiB: float64(rusage.Maxrss) / 1024, changes: s.Create + s.Update + s.Delete}
}

// serverConfig writes a server config for `slipway plan --config`: the
// test cluster as "testenv" for the bench repository, and a render limit
// of maxObjects. Its GitHub App settings are placeholders the CLI never
// uses but the config requires.
func serverConfig(b *testing.B, env *testenv.Env, maxObjects int) string {
	b.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	keyPath := filepath.Join(dir, "app.pem")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyPath, pemKey, 0o600); err != nil {
		b.Fatal(err)
	}
	text := fmt.Sprintf(`github:
  app: {integration_id: 1, webhook_secret: bench, private_key_path: %s}
clusters:
  - {name: testenv, kubeconfig: %s, context: testenv, repos: ["bench/*"]}
render: {max_objects: %d}
`, keyPath, env.Kubeconfig(), max(maxObjects, 5000))
	path := filepath.Join(dir, "server.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

var kubectlDiffHeader = regexp.MustCompile(`(?m)^diff -u -N `)

func runKubectl(b *testing.B, bin string, w *workload, kubeconfig string) toolRun {
	b.Helper()
	cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "diff", "--server-side", "--force-conflicts", "-f", w.dir)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	_ = cmd.Run()
	elapsed := time.Since(start)
	// kubectl diff exits 1 when there are differences, >1 on failure.
	if code := cmd.ProcessState.ExitCode(); code > 1 {
		b.Fatalf("kubectl diff exit %d: %s", code, stderr.String())
	}
	return toolRun{seconds: elapsed.Seconds(), changes: len(kubectlDiffHeader.FindAllIndex(out.Bytes(), -1))}
}

// measureFloor issues, with inFlight requests at a time, the one GET and
// the one dry-run server-side apply per object that any correct diff needs,
// and nothing else.
func measureFloor(b *testing.B, env *testenv.Env, w *workload) time.Duration {
	b.Helper()
	dyn := floorClient(b, env)
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(inFlight)
	for _, u := range w.objects {
		res := dyn.Resource(gvr(u)).Namespace(u.GetNamespace())
		g.Go(func() error {
			_, err := res.Get(context.Background(), u.GetName(), metav1.GetOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	applyAll(b, dyn, w.objects, true)
	return time.Since(start)
}

func applyAll(b *testing.B, dyn dynamic.Interface, objects []*unstructured.Unstructured, dryRun bool) {
	b.Helper()
	applyAs(b, dyn, "slipway", objects, dryRun)
}

// applyAs server-side applies objects as field manager, inFlight at a time.
func applyAs(b *testing.B, dyn dynamic.Interface, manager string, objects []*unstructured.Unstructured, dryRun bool) {
	b.Helper()
	var g errgroup.Group
	g.SetLimit(inFlight)
	opts := metav1.PatchOptions{FieldManager: manager, Force: ptr(true)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, u := range objects {
		data, err := json.Marshal(u.Object)
		if err != nil {
			b.Fatal(err)
		}
		res := dyn.Resource(gvr(u)).Namespace(u.GetNamespace())
		g.Go(func() error {
			_, err := res.Patch(context.Background(), u.GetName(), types.ApplyPatchType, data, opts)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// floorClient is the floors' client: without a client-side rate limit, so
// that a floor is what the API server answers, inFlight requests at a
// time. With client-go's token bucket (kube.QPS, 500 a second after a
// burst of kube.Burst, 1,000) the plan floors were the bucket's: 2.00 s
// for 2,000 requests and 38.00 s for 20,000, whatever the server did.
func floorClient(b *testing.B, env *testenv.Env) dynamic.Interface {
	b.Helper()
	cfg := env.Config()
	cfg.QPS = -1
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return dyn
}

func gvr(u *unstructured.Unstructured) schema.GroupVersionResource {
	if u.GetKind() == "Deployment" {
		return deployments
	}
	return configMaps
}

func tuned(env *testenv.Env) *rest.Config {
	c := env.Config()
	c.QPS, c.Burst = kube.QPS, kube.Burst
	return c
}

func ptr[T any](v T) *T { return &v }

// buildSlipway builds the command once per benchmark binary, so the
// measurement includes what a user's run includes: process start,
// discovery, rendering and planning.
func buildSlipway(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "slipway")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/slipwayhq/slipway/cmd/slipway")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build slipway: %v\n%s", err, out)
	}
	return bin
}
