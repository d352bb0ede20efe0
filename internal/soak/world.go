package soak

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// The soak's repositories, people and namespaces.
const (
	owner     = "acme"
	shop      = "acme/shop"  // the repository under test: three environments
	otherRepo = "acme/other" // a neighbour whose objects shop must never prune
	reader    = "rita"       // read permission: may comment, not apply
	storeNS   = "slipway-soak"
	otherNS   = "soak-other"
	// crashLabel marks pods kwok keeps crash-looping: a Deployment that
	// never becomes healthy.
	crashLabel = "soak.slipway.dev/crash"
)

// writers may push, review, apply and merge.
var writers = []string{"alice", "bob", "carol"}

// envNamespaces are where shop's environments live, by environment.
var envNamespaces = map[string]string{"staging": "soak-staging", "production": "soak-production", "extra": "soak-extra"}

// Timing of the system under test, chosen so that a minute sees leases
// expire, resyncs run and health waits time out.
const (
	resyncInterval = 10 * time.Second
	driftInterval  = 30 * time.Second
	leaseDuration  = 5 * time.Second
	healthWait     = 15 * time.Second // every environment's wait
	// githubQuota is the installation's hourly quota: an Enterprise Cloud
	// App's. Ten minutes of this mix with resyncs every ten seconds stay
	// well within it; used up, slipway would stop for the rest of the hour
	// and the soak would show that instead of what it is after.
	githubQuota = 15000
	// maxOpen bounds the open pull requests, each of which every resync
	// reads.
	maxOpen = 10
)

// world is everything a soak runs: a control plane with a kwok node,
// githubsim, the replicas behind a webhook front, and the API server
// behind a gate.
type world struct {
	dir      string
	cluster  *testenv.Env
	sim      *githubsim.Sim
	front    *front
	frontSrv *httptest.Server
	gate     *gate
	replicas []*replica
	// foreign are objects no repository owns, with the resourceVersion
	// they must still have at the end.
	foreign map[string]string // namespace/name → resourceVersion
}

func startWorld(ctx context.Context, opts Options, seed uint64) (*world, error) {
	dir, err := os.MkdirTemp("", "slipway-soak-")
	if err != nil {
		return nil, err
	}
	w := &world{dir: dir, foreign: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			w.close()
		}
	}()
	if w.cluster, err = testenv.Start(ctx, testenv.Options{Nodes: true, ExtraStages: []string{testenv.CrashLoopStage(crashLabel, "true")}}); err != nil {
		return nil, err
	}
	if err := w.prepareCluster(ctx); err != nil {
		return nil, err
	}
	if w.sim, err = githubsim.New(githubsim.Options{WebhookSecret: githubsim.RandomHex(20), Dir: filepath.Join(dir, "github"), RateLimit: githubQuota}); err != nil {
		return nil, err
	}
	inst, err := w.sim.CreateInstallation(owner)
	if err != nil {
		return nil, err
	}
	if _, err := w.sim.CreateRepo(inst, shop, initialShop(opts.secret)); err != nil {
		return nil, err
	}
	if _, err := w.sim.CreateRepo(inst, otherRepo, initialOther()); err != nil {
		return nil, err
	}
	for _, u := range writers {
		if err := w.sim.SetPermission(shop, u, "write"); err != nil {
			return nil, err
		}
	}
	if err := w.sim.SetPermission(shop, reader, "read"); err != nil {
		return nil, err
	}
	if _, err := w.sim.Push(shop, "release", map[string]string{"RELEASE": "a branch that is not the default\n"}, "release branch", "alice"); err != nil {
		return nil, err
	}

	apiURL, err := url.Parse(w.cluster.Config().Host)
	if err != nil {
		return nil, err
	}
	if w.gate, err = newGate(apiURL.Host); err != nil {
		return nil, err
	}
	environ, err := w.serverEnviron()
	if err != nil {
		return nil, err
	}
	w.front = newFront(seed)
	w.frontSrv = httptest.NewServer(w.front)
	w.sim.SetWebhookURL(w.frontSrv.URL + "/api/github/hook")
	for i := range opts.Replicas {
		addr, err := testenv.FreeAddress()
		if err != nil {
			return nil, err
		}
		metrics, err := testenv.FreeAddress()
		if err != nil {
			return nil, err
		}
		r := &replica{name: fmt.Sprintf("replica-%d", i), addr: addr, metrics: metrics, dir: dir, binary: opts.Slipway,
			args: []string{"serve", "--config", filepath.Join(dir, "server.yaml")}, environ: environ}
		if err := r.start(ctx); err != nil {
			return nil, err
		}
		w.replicas = append(w.replicas, r)
		w.front.mu.Lock()
		w.front.replicas = append(w.front.replicas, r)
		w.front.mu.Unlock()
	}
	ok = true
	return w, nil
}

// prepareCluster makes the namespaces and the objects no repository owns.
func (w *world) prepareCluster(ctx context.Context) error {
	c := w.cluster.Client()
	for _, ns := range []string{storeNS, otherNS, envNamespaces["staging"], envNamespaces["production"], envNamespaces["extra"]} {
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, ns := range []string{envNamespaces["staging"], envNamespaces["production"], otherNS, "default"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: ns}, Data: map[string]string{"owner": "nobody's repository"}}
		got, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: "soak-foreign"})
		if err != nil {
			return err
		}
		w.foreign[ns+"/foreign"] = got.ResourceVersion
	}
	return nil
}

// serverEnviron writes the server config and key, and returns the
// environment every replica runs with.
func (w *world) serverEnviron() ([]string, error) {
	keyPath := filepath.Join(w.dir, "app-key.pem")
	if err := os.WriteFile(keyPath, w.sim.PrivateKeyPEM(), 0o600); err != nil {
		return nil, err
	}
	kc, err := clientcmd.Load(w.cluster.KubeconfigBytes())
	if err != nil {
		return nil, err
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + w.gate.addr()
	}
	kubeconfig := filepath.Join(w.dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`server:
  public_url: http://slipway.soak.invalid
  workers: 4
  log_level: info
  resync_interval: %s
  drift_interval: %s
github:
  max_retry_wait: 30s
clusters:
  - name: test
    kubeconfig: %s
    repos:
      - repo: %s
        namespaces: [%s, %s, %s]
      - repo: %s
        namespaces: [%s]
store:
  kind: kubernetes
  namespace: %s
  cluster: test
  lease_duration: %s
`, resyncInterval, driftInterval, kubeconfig, shop, envNamespaces["staging"], envNamespaces["production"], envNamespaces["extra"], otherRepo, otherNS, storeNS, leaseDuration)
	if err := os.WriteFile(filepath.Join(w.dir, "server.yaml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	environ := []string{
		"GITHUB_WEB_URL=" + w.sim.URL(),
		"GITHUB_V3_API_URL=" + w.sim.V3URL(),
		"GITHUB_V4_API_URL=" + w.sim.V4URL(),
		"GITHUB_APP_INTEGRATION_ID=" + strconv.FormatInt(w.sim.AppID(), 10),
		"GITHUB_APP_WEBHOOK_SECRET=" + w.sim.WebhookSecret(),
		"GITHUB_APP_PRIVATE_KEY_PATH=" + keyPath,
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") && !strings.HasPrefix(kv, "SLIPWAY_") {
			environ = append(environ, kv)
		}
	}
	if f := os.Getenv("SOAK_FAULT"); f != "" {
		environ = append(environ, "SLIPWAY_SOAKFAULT="+f)
	}
	return environ, nil
}

// close stops everything; the directory (logs) stays when keep is set.
func (w *world) close() {
	for _, r := range w.replicas {
		r.stop(10 * time.Second)
	}
	if w.frontSrv != nil {
		w.frontSrv.Close()
	}
	if w.gate != nil {
		w.gate.close()
	}
	if w.sim != nil {
		w.sim.Close()
	}
	if w.cluster != nil {
		_ = w.cluster.Stop()
	}
}
