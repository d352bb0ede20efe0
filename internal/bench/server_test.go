package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/server"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// BenchmarkServer50x200 measures a pull request that affects 50
// environments of 200 objects each (10,000 objects, 10 of each 200
// changed, 5%), through the server: from the pull_request delivery
// githubsim sends to the sticky comment that shows every environment's
// plan, against githubsim and the test cluster. It prints the time and the
// requests the API server answered meanwhile, by verb.
func BenchmarkServer50x200(b *testing.B) {
	const envs, perEnv, changed, repoName = 50, 200, 10, "acme/shop"
	env := testenv.Get(b)
	dyn, err := dynamic.NewForConfig(tuned(env))
	if err != nil {
		b.Fatal(err)
	}
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: "bench-secret", Dir: b.TempDir(), CacheControl: "no-cache"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)

	cfg := config.Defaults()
	cfg.GitHub.WebURL, cfg.GitHub.V3APIURL, cfg.GitHub.V4APIURL = sim.URL(), sim.V3URL(), sim.V4URL()
	cfg.GitHub.App.IntegrationID = sim.AppID()
	cfg.GitHub.App.WebhookSecret = "bench-secret"
	cfg.GitHub.App.PrivateKey = string(sim.PrivateKeyPEM())
	cfg.Server.QueueSize = 1000
	cfg.Store.Path = filepath.Join(b.TempDir(), "slipway.db")
	cfg.Clusters = []config.Cluster{{Name: "test", Kubeconfig: env.Kubeconfig(), Context: "testenv", Repos: config.AnyNamespace("acme/*")}}
	srv, err := server.New(cfg, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-served })
	sim.SetWebhookURL("http://" + ln.Addr().String() + server.WebhookPath)

	// 50 environments, each in its namespace, applied as slipway's apply
	// leaves them: members of the environment's ApplySet, recorded.
	files := map[string]string{}
	edited := map[string]string{}
	slipwayYAML := "version: 1\nenvironments:\n"
	for e := range envs {
		name := fmt.Sprintf("env-%02d", e)
		ns := testenv.NewNamespace(b, env)
		slipwayYAML += fmt.Sprintf("  - {name: %s, path: deploy/%s, cluster: test, namespace: %s}\n", name, name, ns)
		var objects, changedObjects []*unstructured.Unstructured
		for i := range perEnv {
			if i%2 == 0 {
				objects = append(objects, deployment(ns, i, "registry.example/web:1.0.0"))
				changedObjects = append(changedObjects, deployment(ns, i, "registry.example/web:2.0.0"))
			} else {
				objects = append(objects, configMap(ns, i, "v1"))
				changedObjects = append(changedObjects, configMap(ns, i, "v2"))
			}
		}
		id := plan.ApplySetID(plan.InventoryName(repoName, name), ns)
		live := make([]*unstructured.Unstructured, len(objects))
		for i, u := range objects {
			live[i] = u.DeepCopy()
			live[i].SetLabels(map[string]string{"applyset.kubernetes.io/part-of": id})
		}
		applyAs(b, dyn, "slipway", live, false)
		recordInventory(b, env, repoName, name, ns, objects)
		path := fmt.Sprintf("deploy/%s/objects.yaml", name)
		files[path] = manifests(b, objects)
		edited[path] = manifests(b, append(changedObjects[:changed:changed], objects[changed:]...))
	}
	files[".slipway.yaml"] = slipwayYAML
	inst, err := sim.CreateInstallation("acme")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sim.CreateRepo(inst, repoName, files); err != nil {
		b.Fatal(err)
	}
	if err := sim.SetPermission(repoName, "alice", "write"); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		branch := fmt.Sprintf("bump-%d", i)
		if _, err := sim.Push(repoName, branch, edited, "bump 5% of every environment", "alice"); err != nil {
			b.Fatal(err)
		}
		before := apiRequests(b, env)
		start := time.Now()
		n, err := sim.OpenPR(repoName, branch, "main", "Bump", "alice")
		if err != nil {
			b.Fatal(err)
		}
		row := regexp.MustCompile("\\| env-\\d\\d \\| `~10` \\| 0 \\| 190 \\|")
		var comment string
		for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
			for _, c := range sim.Comments(repoName, n) {
				if c.GetUser().GetLogin() == sim.BotLogin() && len(row.FindAllString(c.GetBody(), -1)) == envs {
					comment = c.GetBody()
				}
			}
			if comment != "" {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("no sticky comment with all %d environments' plans within 5 minutes", envs)
			}
		}
		elapsed := time.Since(start)
		after := apiRequests(b, env)
		b.ReportMetric(elapsed.Seconds(), "pr-to-comment-s")
		fmt.Printf("server, %d environments × %d objects (%d changed each): pull_request delivery to complete sticky comment %.2fs (%d bytes); API server requests meanwhile: %s\n",
			envs, perEnv, changed, elapsed.Seconds(), len(comment), requestDelta(before, after))
	}
}

// manifests is objects as one multi-document YAML file.
func manifests(b *testing.B, objects []*unstructured.Unstructured) string {
	b.Helper()
	var buf bytes.Buffer
	for _, u := range objects {
		data, err := json.Marshal(u.Object)
		if err != nil {
			b.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
		buf.WriteString("\n")
	}
	return buf.String()
}

// apiRequests reads the API server's request counter, summed by verb
// (dry-runs apart).
func apiRequests(b *testing.B, env *testenv.Env) map[string]float64 {
	b.Helper()
	raw, err := env.Client().CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]float64{}
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		end := strings.LastIndex(line, "}")
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, m := range label.FindAllStringSubmatch(line[:end], -1) {
			labels[m[1]] = m[2]
		}
		verb := labels["verb"]
		if labels["dry_run"] != "" {
			verb = "dry-run " + verb
		}
		out[verb] += v
	}
	return out
}

func requestDelta(before, after map[string]float64) string {
	var parts []string
	total := 0.0
	for verb, n := range after {
		if d := n - before[verb]; d > 0 {
			parts = append(parts, fmt.Sprintf("%.0f %s", d, verb))
			total += d
		}
	}
	sort.Strings(parts)
	return fmt.Sprintf("%.0f (%s)", total, strings.Join(parts, ", "))
}
