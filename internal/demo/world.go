package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/slipwayhq/slipway/config/examples"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/server"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
	testworld "github.com/slipwayhq/slipway/internal/testkit/world"
)

// The people of the story and their permissions on the repository.
const (
	owner  = "acme"
	repo   = "acme/shop"
	author = "alice" // write: opens the pull request, applies, merges
	review = "bob"   // write: approves
	reader = "rita"  // read: may comment, not apply
)

// world is everything the demo runs: a cluster, the GitHub simulator with
// the sample repository, and slipway serving webhooks from it.
type world struct {
	dir     string // temp dir: key, kubeconfig, store, logs; removed by close
	cluster *testenv.Env
	github  *testworld.World // the simulator, the App installed on owner, the repository
	sim     *githubsim.Sim   // github's simulator
	server  *testenv.Process
	binary  string
	config  string   // the server config file slipway runs with
	environ []string // the environment slipway runs with
	files   map[string]string
}

// startWorld starts everything, saying so on t. On error whatever started
// is stopped again.
func startWorld(ctx context.Context, t *transcript, binary string) (*world, error) {
	binary, err := filepath.Abs(binary) // the server runs in the demo's directory
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("the slipway binary: %w; build it with `make build`", err)
	}
	dir, err := os.MkdirTemp("", "slipway-demo-")
	if err != nil {
		return nil, err
	}
	w := &world{dir: dir, binary: binary}
	started := false
	defer func() {
		if !started {
			w.close()
		}
	}()
	if w.files, err = examples.Shop(); err != nil {
		return nil, fmt.Errorf("read the sample repository: %w", err)
	}

	t.Progress("… starting a Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a kwok node")
	began := time.Now()
	if w.cluster, err = testenv.Start(ctx, testenv.Options{Nodes: true}); err != nil {
		return nil, err
	}
	t.Progress("✓ cluster ready in %s (node %s)", since(began), testenv.NodeName)

	// GitHub's own caching headers: the demo shows what production sees.
	if w.github, err = testworld.Start(testworld.Options{
		Repo: repo, Secret: githubsim.RandomHex(20), Dir: filepath.Join(dir, "github"), GitHubCaching: true,
		Permissions: map[string]string{author: "write", review: "write", reader: "read"},
	}); err != nil {
		return nil, err
	}
	w.sim = w.github.Sim
	if err := w.github.Install(w.files); err != nil {
		return nil, err
	}
	t.Progress("✓ githubsim, a GitHub simulator, at %s: the App %q installed on %s, repository %s (config/examples/shop)", w.sim.URL(), w.sim.AppSlug(), owner, repo)

	addr, err := testenv.FreeAddress()
	if err != nil {
		return nil, err
	}
	if err := w.writeServerConfig(addr); err != nil {
		return nil, err
	}
	w.sim.SetWebhookURL("http://" + addr + server.WebhookPath)
	began = time.Now()
	if w.server, err = testenv.StartProcess(dir, "slipway", w.binary, []string{"serve", "--config", w.config}, w.environ); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, w.server, "http://"+addr+"/readyz", 30*time.Second); err != nil {
		return nil, err
	}
	t.Progress("✓ slipway serve --config server.yaml (config/examples/server.yaml) on %s, ready in %s", addr, since(began))
	t.Say("The server config is the example's, with what exists only on this machine taken from the environment:\n" +
		"GITHUB_V3_API_URL and friends point at githubsim, GITHUB_APP_PRIVATE_KEY_PATH and GITHUB_APP_WEBHOOK_SECRET\n" +
		"hold the simulated App's key and secret, SLIPWAY_CLUSTERS points staging and production at the test\n" +
		"cluster, SLIPWAY_STORE_PATH keeps the bolt store in a temp dir.")
	started = true
	return w, nil
}

// writeServerConfig writes the example server config and the environment
// that adapts it to this machine, and checks the result loads.
func (w *world) writeServerConfig(addr string) error {
	data, err := examples.ServerConfig()
	if err != nil {
		return err
	}
	w.config = filepath.Join(w.dir, examples.ServerConfigName)
	if err := os.WriteFile(w.config, data, 0o600); err != nil {
		return err
	}
	if w.environ, err = w.github.ServerEnv(filepath.Join(w.dir, "app-key.pem")); err != nil {
		return err
	}
	clusters, err := w.clusters(data)
	if err != nil {
		return err
	}
	w.environ = append(w.environ,
		"SLIPWAY_SERVER_ADDRESS="+addr,
		"SLIPWAY_SERVER_METRICS_ADDRESS=127.0.0.1:0",
		"SLIPWAY_STORE_PATH="+filepath.Join(w.dir, "slipway.db"),
		"SLIPWAY_CLUSTERS="+clusters,
	)
	if _, err := config.Parse(examples.ServerConfigName, data, w.environ); err != nil {
		return fmt.Errorf("the example server config with the demo's overrides: %w", err)
	}
	// slipway sees only these overrides, not any GITHUB_* or SLIPWAY_* of
	// whoever runs the demo.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") && !strings.HasPrefix(kv, "SLIPWAY_") {
			w.environ = append(w.environ, kv)
		}
	}
	return nil
}

// clusters is the example's cluster list as YAML, each cluster reaching
// the test cluster through a kubeconfig context named like it.
func (w *world) clusters(serverYAML []byte) (string, error) {
	var example struct {
		Clusters []config.Cluster `yaml:"clusters"`
	}
	if err := yaml.Unmarshal(serverYAML, &example); err != nil {
		return "", fmt.Errorf("read the example server config: %w", err)
	}
	kc, err := clientcmd.Load(w.cluster.KubeconfigBytes())
	if err != nil {
		return "", err
	}
	src, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return "", errors.New("the test cluster's kubeconfig has no current context")
	}
	path := filepath.Join(w.dir, "kubeconfig")
	for i := range example.Clusters {
		c := &example.Clusters[i]
		name := c.Context
		if name == "" {
			name = c.Name
		}
		kc.Contexts[name] = src.DeepCopy()
		c.Context, c.Kubeconfig, c.InCluster = name, path, false
	}
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", err
	}
	out, err := yaml.Marshal(example.Clusters)
	return string(out), err
}

// checkout clones main of the repository into a directory.
func (w *world) checkout(ctx context.Context) (string, error) {
	dir := filepath.Join(w.dir, "checkout")
	out, err := command(ctx, "git", "clone", "--quiet", w.sim.Repo(repo).Dir, dir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git clone: %v: %s", err, out)
	}
	return dir, nil
}

// close stops everything startWorld started and removes its files.
func (w *world) close() {
	if w.server != nil {
		w.server.Stop(stopGrace)
	}
	if w.github != nil {
		w.github.Close()
	}
	if w.cluster != nil {
		_ = w.cluster.Stop()
	}
	_ = os.RemoveAll(w.dir)
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }
