package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/gh/publish"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
	testworld "github.com/slipwayhq/slipway/internal/testkit/world"
)

// The cluster runs nodes so that Deployments roll out (or, labelled to
// crash, never become ready) when slipway applies and waits for them.
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, testenv.Options{Nodes: true, ExtraStages: []string{testenv.CrashLoopStage(testenv.CrashLoopLabel, "true")}}))
}

// world is a running slipway wired to githubsim and the test cluster, with
// one installation and repository acme/shop.
type world struct {
	t        *testing.T
	github   *testworld.World // the simulated GitHub and what is in it
	sim      *githubsim.Sim
	srv      *Server
	repo     string
	staging  string // namespaces the environments deploy to
	prod     string
	inst     int64
	kubeconf string
	env      *testenv.Env
	cfg      *config.Config
	patience time.Duration // how long eventually waits
}

// startServer serves a slipway built from cfg on a loopback port until
// the test ends, and returns it with its address.
func startServer(t *testing.T, cfg *config.Config) (*Server, string) {
	t.Helper()
	return startServerWith(t, cfg, worldOptions{})
}

// worldOptions are the less common ways to set up a world.
type worldOptions struct {
	log   io.Writer                // also receives the server's log, at debug level
	extra []githubapp.EventHandler // handlers beside slipway's own
	tweak []func(*config.Config)   // last changes to the server config
}

// startServerWith is startServer with o's log and extra handlers.
func startServerWith(t *testing.T, cfg *config.Config, o worldOptions) (*Server, string) {
	t.Helper()
	level := zerolog.WarnLevel
	if l, err := zerolog.ParseLevel(os.Getenv("SLIPWAY_TEST_LOG")); err == nil && l != zerolog.NoLevel {
		level = l // SLIPWAY_TEST_LOG=debug shows what the server did
	}
	logger := zerolog.New(testWriter{t}).Level(level)
	if o.log != nil {
		logger = zerolog.New(zerolog.MultiLevelWriter(levelWriter{testWriter{t}, level}, o.log)).Level(zerolog.DebugLevel)
	}
	srv, err := newServer(cfg, logger, o.extra)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

const shopRepo = "acme/shop"

func newWorld(t *testing.T, workers int) *world {
	t.Helper()
	return newWorldWith(t, workers, (*world).shopFiles)
}

// newWorldWith is newWorld with the repository's files made by files and
// the server config adjusted by each of tweak.
func newWorldWith(t *testing.T, workers int, files func(*world) map[string]string, tweak ...func(*config.Config)) *world {
	t.Helper()
	return newWorldOpts(t, workers, files, worldOptions{tweak: tweak})
}

// newWorldOpts is newWorldWith with every option.
func newWorldOpts(t *testing.T, workers int, files func(*world) map[string]string, o worldOptions) *world {
	t.Helper()
	w := newSimWorld(t)
	cfg := w.serverConfig(workers)
	cfg.Store.Path = filepath.Join(t.TempDir(), "slipway.db")
	for _, f := range o.tweak {
		f(cfg)
	}
	w.cfg = cfg
	var addr string
	w.srv, addr = startServerWith(t, cfg, o)
	w.sim.SetWebhookURL("http://" + addr + WebhookPath)
	w.populate(files)
	return w
}

// newSimWorld is a world with githubsim and the environments' namespaces,
// but no slipway yet and an empty githubsim.
func newSimWorld(t *testing.T) *world {
	t.Helper()
	env := testenv.Get(t)
	w := &world{t: t, patience: time.Minute, repo: shopRepo, staging: testenv.NewNamespace(t, env), prod: testenv.NewNamespace(t, env), kubeconf: env.Kubeconfig(), env: env}
	w.github = testworld.Empty(t, testworld.Options{Repo: shopRepo, Secret: secret, Permissions: map[string]string{"alice": "write", "bob": "write", "rita": "read"}})
	w.sim = w.github.Sim
	return w
}

// serverConfig is a slipway config for w's githubsim and the test cluster,
// with the default (bolt) store.
func (w *world) serverConfig(workers int) *config.Config {
	cfg := w.github.ServerConfig()
	cfg.Server.Workers = workers
	cfg.Server.MetricsAddress = "127.0.0.1:0"
	cfg.Server.QueueSize = 1000
	// Work in flight gets a minute to end: on a loaded machine a plan
	// still running at cleanup took over 30 s (TestResyncPlansWhatNoWebhookDid).
	cfg.Server.ShutdownTimeout = config.Duration(time.Minute)
	cfg.Clusters = []config.Cluster{{Name: "test", Kubeconfig: w.kubeconf, Context: "testenv", Repos: config.AnyNamespace("acme/*")}}
	return cfg
}

// populate installs the App on acme and creates acme/shop with files; its
// webhooks go wherever githubsim's webhook URL points.
func (w *world) populate(files func(*world) map[string]string) {
	w.t.Helper()
	if err := w.github.Install(files(w)); err != nil {
		w.t.Fatal(err)
	}
	w.inst = w.github.Installation
}

// shopFiles is a shop with a shared Kustomize base and two overlays.
func (w *world) shopFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
  - name: production
    path: deploy/production
    cluster: test
    namespace: %s
    depends_on: [staging]
`, w.staging, w.prod),
		"README.md":                            "shop\n",
		"deploy/base/kustomization.yaml":       "resources: [config.yaml]\n",
		"deploy/base/config.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\ndata:\n  color: blue\n",
		"deploy/staging/kustomization.yaml":    fmt.Sprintf("namespace: %s\nresources: [../base, extra.yaml]\n", w.staging),
		"deploy/staging/extra.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"1\"\n",
		"deploy/production/kustomization.yaml": fmt.Sprintf("namespace: %s\nresources: [../base]\n", w.prod),
	}
}

// openPR pushes files to a new branch and opens a pull request from it.
func (w *world) openPR(branch, user string, files map[string]string) int {
	w.t.Helper()
	return w.github.OpenPR(w.t, branch, user, files)
}

// stickyComments are slipway's plan comments on pull request n.
func (w *world) stickyComments(n int) []*github.IssueComment {
	var out []*github.IssueComment
	for _, c := range w.github.SlipwayComments(n) {
		if strings.HasPrefix(c.GetBody(), publish.PlanMarker) {
			out = append(out, c)
		}
	}
	return out
}

// replies are slipway's comments on n that are not the plan.
func (w *world) replies(n int) []string {
	var out []string
	for _, c := range w.github.SlipwayComments(n) {
		if !strings.HasPrefix(c.GetBody(), publish.PlanMarker) {
			out = append(out, c.GetBody())
		}
	}
	return out
}

// checkRuns are the check runs on sha, optionally only the named one.
func (w *world) checkRuns(sha, name string) []*github.CheckRun {
	var out []*github.CheckRun
	for _, cr := range w.sim.CheckRuns(w.repo) {
		if cr.GetHeadSHA() == sha && (name == "" || cr.GetName() == name) {
			out = append(out, cr)
		}
	}
	return out
}

func (w *world) head(n int) string { return w.github.Head(n) }

// eventually polls cond for up to w.patience.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	testworld.Eventually(w.t, w.patience, what, cond)
}

// completed waits for the named check run on sha to complete and returns it.
func (w *world) completed(sha, name string) *github.CheckRun {
	w.t.Helper()
	var got *github.CheckRun
	w.eventually(name+" completed on "+sha[:7], func() bool {
		for _, cr := range w.checkRuns(sha, name) {
			if cr.GetStatus() == "completed" {
				got = cr
				return true
			}
		}
		return false
	})
	return got
}

type testWriter struct{ t *testing.T }

// levelWriter passes on only the lines at min or above.
type levelWriter struct {
	w   io.Writer
	min zerolog.Level
}

func (lw levelWriter) Write(p []byte) (int, error) { return lw.w.Write(p) }

func (lw levelWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	if l < lw.min {
		return len(p), nil
	}
	return lw.w.Write(p)
}

func (tw testWriter) Write(p []byte) (int, error) {
	tw.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
