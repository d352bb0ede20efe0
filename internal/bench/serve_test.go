package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/slipwayhq/slipway/internal/gh/publish"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// The monorepo of the server benchmark: one Kustomize base of
// serverObjects objects shared by serverEnvs overlays, each its own
// environment in its own namespace; the pull request changes
// serverChanged of the base's objects, so every environment has that many
// updates.
const (
	serverEnvs    = 50
	serverObjects = 200
	serverChanged = 10 // 5%
	serverRepo    = "acme/monorepo"
	serverAuthor  = "alice"
	// serverTarget is the goal for one such pull request on the 2-core
	// machine the benchmarks run on (issue 17).
	serverTarget = 15 * time.Second
	// commentLimit is the most characters GitHub takes in a comment body.
	commentLimit = 65536
	// serverPatience bounds the wait for the sticky comment.
	serverPatience = 5 * time.Minute
)

// BenchmarkServerPlan50x200 measures `slipway serve` with a pull request that
// changes the shared base of 50 environments of 200 objects each (10,000
// objects, 500 changed): from the pull_request delivery to the complete
// sticky comment, against githubsim and the test cluster. It prints the
// time, the API server requests by verb (counted by a proxy in front of the
// API server), the GitHub requests by endpoint (githubsim's record) and
// slipway's peak memory, and checks the comment: every part within GitHub's
// limit, every environment's row with its 10 updates.
func BenchmarkServerPlan50x200(b *testing.B) {
	env := testenv.Get(b)
	bin := buildSlipway(b)
	proxy := startKubeProxy(b, env)
	mono := newMonorepo(b, env)
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: randomSecret(), Dir: b.TempDir(), CacheControl: "no-cache"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)
	inst, err := sim.CreateInstallation("acme")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sim.CreateRepo(inst, serverRepo, mono.files); err != nil {
		b.Fatal(err)
	}
	if err := sim.SetPermission(serverRepo, serverAuthor, "write"); err != nil {
		b.Fatal(err)
	}
	srv := startServe(b, bin, sim, proxy.kubeconfig)
	waitQuiet(b, sim, proxy, srv)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// The branch is pushed unseen (no webhook URL), so the measurement
		// starts from a quiet server with one delivery: the pull request.
		branch := fmt.Sprintf("shared-base-%d", i)
		sim.SetWebhookURL("")
		if _, err := sim.Push(serverRepo, branch, mono.changed, "change 5% of the shared base", serverAuthor); err != nil {
			b.Fatal(err)
		}
		sim.SetWebhookURL(srv.hook)
		sim.ResetLog()
		proxy.verbs.take(time.Now())
		cpuBefore := srv.cpuSeconds(b)
		b.StartTimer()

		start := time.Now()
		number, err := sim.OpenPR(serverRepo, branch, "main", "Change the shared base", serverAuthor)
		if err != nil {
			b.Fatal(err)
		}
		parts := waitSticky(b, sim, srv, number)
		elapsed := time.Since(start)
		b.StopTimer()
		// The policy checks come after the comment: each weighs its
		// environment's rules over the head's objects.
		waitPolicy(b, sim, srv, number)
		policyDone := time.Since(start)
		cpu := srv.cpuSeconds(b) - cpuBefore

		kube, kubeTotal := table(proxy.verbs.take(start))
		github, githubTotal := table(githubKinds(sim.Requests(), start))
		hwm := srv.peakMiB(b)
		b.ReportMetric(elapsed.Seconds(), "delivery-to-comment-s")
		b.ReportMetric(float64(kubeTotal), "kube-requests")
		b.ReportMetric(float64(githubTotal), "github-requests")
		b.ReportMetric(hwm, "server-peak-MiB")
		b.ReportMetric(cpu, "slipway-cpu-s")
		sizes := make([]string, len(parts))
		for j, p := range parts {
			sizes[j] = strconv.Itoa(len([]rune(p)))
		}
		fmt.Printf("%d environments × %d objects (%d objects, %d changed), one pull request through slipway serve: "+
			"delivery to complete sticky comment %.2fs (target %s), to every policy check %.2fs · slipway CPU %.1fs (server and render children, to the policy checks) · server peak RSS %.0f MiB · sticky comment %d part(s) of %s characters (limit %d)\n"+
			"  API server requests by verb (%d), with when the first and the last came:\n%s  GitHub requests by endpoint (%d), with when the first and the last came:\n%s",
			serverEnvs, serverObjects, serverEnvs*serverObjects, serverEnvs*serverChanged, elapsed.Seconds(), serverTarget, policyDone.Seconds(), cpu, hwm,
			len(parts), strings.Join(sizes, "+"), commentLimit, kubeTotal, kube, githubTotal, github)
		checkSticky(b, parts)
		checkRuns(b, sim, number)
		if u := sim.Unsupported(); len(u) > 0 {
			b.Errorf("slipway called endpoints githubsim does not simulate: %v", u)
		}
	}
	b.StopTimer()
	fmt.Printf("  peak RSS of slipway serve and its render children over the whole run: %.0f MiB\n", srv.stop(b))
}

// monorepo is the repository's files at main, the files the pull request
// pushes, and the namespaces the environments deploy to.
type monorepo struct {
	files, changed map[string]string
	namespaces     []string
}

// newMonorepo makes the repository and applies its base, in every
// environment's namespace, as slipway's apply would have left it: each
// object a member of its environment's ApplySet, recorded in its
// inventory, so that only the pull request's changes show in the plan.
func newMonorepo(b *testing.B, env *testenv.Env) *monorepo {
	b.Helper()
	m := &monorepo{files: map[string]string{}, changed: map[string]string{}}
	base := make([]*unstructured.Unstructured, serverObjects)
	for i := range base {
		base[i] = baseObject(i, false)
	}
	dyn, err := dynamic.NewForConfig(tuned(env))
	if err != nil {
		b.Fatal(err)
	}
	engine, err := plan.NewEngine(tuned(env), plan.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var config strings.Builder
	config.WriteString("version: 1\nenvironments:\n")
	var live []*unstructured.Unstructured
	for e := 0; e < serverEnvs; e++ {
		name := fmt.Sprintf("env-%02d", e)
		ns := testenv.NewNamespace(b, env)
		m.namespaces = append(m.namespaces, ns)
		fmt.Fprintf(&config, "  - name: %s\n    path: deploy/%s\n    cluster: test\n    namespace: %s\n", name, name, ns)
		m.files["deploy/"+name+"/kustomization.yaml"] = fmt.Sprintf("namespace: %s\nresources: [../base]\n", ns)
		id := plan.ApplySetID(plan.InventoryName(serverRepo, name), ns)
		refs := make([]plan.Ref, len(base))
		for i, u := range base {
			o := u.DeepCopy()
			o.SetNamespace(ns)
			o.SetLabels(map[string]string{"applyset.kubernetes.io/part-of": id})
			live = append(live, o)
			gvk := o.GroupVersionKind()
			refs[i] = plan.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: ns, Name: o.GetName()}
		}
		if err := engine.WriteInventory(context.Background(), serverRepo, &repoconfig.Environment{Name: name, Namespace: ns}, refs); err != nil {
			b.Fatal(err)
		}
	}
	applyAll(b, dyn, live, false)

	m.files[".slipway.yaml"] = config.String()
	var resources []string
	for k, chunk := range manifestChunks(b, base) {
		name := fmt.Sprintf("objects-%05d.yaml", k*manifestsPerFile)
		resources = append(resources, name)
		m.files["deploy/base/"+name] = chunk
	}
	m.files["deploy/base/kustomization.yaml"] = "resources: [" + strings.Join(resources, ", ") + "]\n"

	for i := 0; i < serverChanged; i++ {
		base[i] = baseObject(i, true)
	}
	for k, chunk := range manifestChunks(b, base) {
		if name := fmt.Sprintf("deploy/base/objects-%05d.yaml", k*manifestsPerFile); chunk != m.files[name] {
			m.changed[name] = chunk
		}
	}
	return m
}

// baseObject is object i of the base, without a namespace (the overlays
// set it), in its original or changed version.
func baseObject(i int, changed bool) *unstructured.Unstructured {
	var u *unstructured.Unstructured
	switch {
	case i%2 == 0 && changed:
		u = deployment("", i, "registry.example/web:2.0.0")
	case i%2 == 0:
		u = deployment("", i, "registry.example/web:1.0.0")
	case changed:
		u = configMap("", i, "v2")
	default:
		u = configMap("", i, "v1")
	}
	unstructured.RemoveNestedField(u.Object, "metadata", "namespace")
	return u
}

// serve is a running `slipway serve`.
type serve struct {
	cmd  *exec.Cmd
	log  string
	hook string // its webhook URL
	done chan struct{}
}

// startServe runs bin as `slipway serve` against sim and the cluster in
// kubeconfig, with the server defaults, and waits until it is ready.
func startServe(b *testing.B, bin string, sim *githubsim.Sim, kubeconfig string) *serve {
	b.Helper()
	dir := b.TempDir()
	addr := freeAddress(b)
	key := writeFile(b, dir, "app.pem", string(sim.PrivateKeyPEM()))
	config := writeFile(b, dir, "server.yaml", fmt.Sprintf(`server:
  address: %q
  metrics_address: 127.0.0.1:0
  log_level: info
github:
  web_url: %s
  v3_api_url: %s
  v4_api_url: %s
  app:
    integration_id: %d
    private_key_path: %s
clusters:
  - name: test
    kubeconfig: %s
    repos: [%q]
store:
  path: %s
`, addr, sim.URL(), sim.V3URL(), sim.V4URL(), sim.AppID(), key, kubeconfig, serverRepo, filepath.Join(dir, "slipway.db")))

	s := &serve{log: filepath.Join(dir, "slipway.log"), hook: "http://" + addr + "/api/github/hook", done: make(chan struct{})}
	logFile, err := os.Create(s.log)
	if err != nil {
		b.Fatal(err)
	}
	s.cmd = exec.Command(bin, "serve", "--config", config)
	// Only this benchmark's GitHub and clusters: none of the caller's
	// GITHUB_* or SLIPWAY_* settings.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") && !strings.HasPrefix(kv, "SLIPWAY_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	// The secret travels in the environment, never in a file on disk.
	s.cmd.Env = append(s.cmd.Env, "GITHUB_APP_WEBHOOK_SECRET="+sim.WebhookSecret())
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	b.Cleanup(func() { s.stop(b) })

	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.done:
			b.Fatalf("slipway serve exited:\n%s", s.tail())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("slipway serve not ready after 30s:\n%s", s.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// peakMiB is the server process's own peak resident set so far (VmHWM).
func (s *serve) peakMiB(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		b.Fatalf("no VmHWM in /proc/%d/status", s.cmd.Process.Pid)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times on Linux.
const clockTicks = 100

// cpuSeconds is the CPU time the server and its reaped children (the
// renders) have used so far: the machine is shared, so this is the figure
// that other load does not inflate.
func (s *serve) cpuSeconds(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime, stime, cutime, cstime fields 14-17.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	ticks := 0
	for _, f := range fields[11:15] {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("/proc/%d/stat: %v", s.cmd.Process.Pid, err)
		}
		ticks += n
	}
	return float64(ticks) / clockTicks
}

// stop ends the server (SIGTERM, then SIGKILL after 30s) and returns the
// peak resident set of it and its waited-for children (the renders).
func (s *serve) stop(b *testing.B) float64 {
	select {
	case <-s.done:
	default:
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	if s.cmd.ProcessState == nil {
		return 0
	}
	return float64(s.cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
}

func (s *serve) tail() string {
	data, _ := os.ReadFile(s.log)
	return tail(string(data), 3000)
}

// quietFor is how long the server must send nothing to count as idle.
const quietFor = 3 * time.Second

// waitQuiet waits until the server has finished what it does on start
// (converging the default branch, resyncing pull requests): it has sent no
// request to GitHub or the cluster for quietFor. The measurement is of a
// pull request alone.
func waitQuiet(b *testing.B, sim *githubsim.Sim, proxy *kubeProxy, srv *serve) {
	b.Helper()
	deadline := time.Now().Add(serverPatience)
	last, since := -1, time.Now()
	for time.Since(since) < quietFor {
		if time.Now().After(deadline) {
			b.Fatalf("slipway serve still busy after %s; its log ends:\n%s", serverPatience, srv.tail())
		}
		if n := len(sim.Requests()) + proxy.verbs.total(); n != last {
			last, since = n, time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var partOf = regexp.MustCompile(`\(part 1 of (\d+)\)`)

// waitSticky waits until slipway's sticky comment on pull request number
// is complete, every part of it posted, and returns the parts.
func waitSticky(b *testing.B, sim *githubsim.Sim, srv *serve, number int) []string {
	b.Helper()
	deadline := time.Now().Add(serverPatience)
	for {
		var parts []string
		for _, c := range sim.Comments(serverRepo, number) {
			if c.GetUser().GetLogin() == sim.BotLogin() && strings.HasPrefix(c.GetBody(), publish.PlanMarker) {
				parts = append(parts, c.GetBody())
			}
		}
		if len(parts) > 0 {
			want := 1
			if m := partOf.FindStringSubmatch(parts[0]); m != nil {
				want, _ = strconv.Atoi(m[1])
			}
			if len(parts) == want {
				return parts
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("no complete sticky comment on #%d after %s (%d parts so far); slipway's log ends:\n%s", number, serverPatience, len(parts), srv.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPolicy waits until every environment's policy check run on pull
// request number's head has completed.
func waitPolicy(b *testing.B, sim *githubsim.Sim, srv *serve, number int) {
	b.Helper()
	head := sim.PR(serverRepo, number).GetHead().GetSHA()
	deadline := time.Now().Add(serverPatience)
	for {
		done := 0
		for _, cr := range sim.CheckRuns(serverRepo) {
			if cr.GetHeadSHA() == head && strings.HasPrefix(cr.GetName(), "slipway/policy: ") && cr.GetStatus() == "completed" {
				done++
			}
		}
		if done >= serverEnvs {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d policy checks completed on #%d after %s; slipway's log ends:\n%s", done, serverEnvs, number, serverPatience, srv.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stickyRow is an environment's row in the comment's summary table.
var stickyRow = regexp.MustCompile("(?m)^\\| (env-\\d\\d) \\| (.*) \\| (.*) \\| (.*) \\|$")

// checkSticky fails unless every part is within GitHub's limit and the
// summary table has every environment with its changes and none failed.
func checkSticky(b *testing.B, parts []string) {
	b.Helper()
	for i, p := range parts {
		if n := len([]rune(p)); n > commentLimit {
			b.Errorf("sticky comment part %d has %d characters, over GitHub's %d", i+1, n, commentLimit)
		}
	}
	rows := map[string][]string{}
	for _, m := range stickyRow.FindAllStringSubmatch(parts[0], -1) {
		rows[m[1]] = m[2:]
	}
	wantChanges, wantUnchanged := fmt.Sprintf("`~%d`", serverChanged), strconv.Itoa(serverObjects-serverChanged)
	for e := 0; e < serverEnvs; e++ {
		name := fmt.Sprintf("env-%02d", e)
		row, ok := rows[name]
		switch {
		case !ok:
			b.Errorf("the sticky comment's summary has no row for %s", name)
		case row[0] != wantChanges || row[1] != "0" || row[2] != wantUnchanged:
			b.Errorf("%s's row is %q, want changes %s, errors 0, unchanged %s", name, row, wantChanges, wantUnchanged)
		}
	}
}

// checkRuns fails unless every environment's plan check run on the pull
// request's head succeeded.
func checkRuns(b *testing.B, sim *githubsim.Sim, number int) {
	b.Helper()
	head := sim.PR(serverRepo, number).GetHead().GetSHA()
	done := map[string]bool{}
	for _, cr := range sim.CheckRuns(serverRepo) {
		if cr.GetHeadSHA() == head && strings.HasPrefix(cr.GetName(), "slipway/plan: ") && cr.GetConclusion() == "success" {
			done[strings.TrimPrefix(cr.GetName(), "slipway/plan: ")] = true
		}
	}
	if len(done) != serverEnvs {
		b.Errorf("%d of %d environments' plan check runs succeeded", len(done), serverEnvs)
	}
}
