package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/slipwayhq/slipway/internal/config"
)

// /readyz says not ready, and why (on the metrics port only), while a
// cluster or GitHub cannot be reached at start, and turns ready by itself
// once they can.
func TestReadyzWaitsForClustersAndGitHub(t *testing.T) {
	old := probeBackoff
	probeBackoff.Base, probeBackoff.Max = 10*time.Millisecond, 10*time.Millisecond
	t.Cleanup(func() { probeBackoff = old })

	var clusterUp atomic.Bool
	var githubCalls atomic.Int32
	ps := []probe{
		{"cluster staging", func(context.Context) error {
			if !clusterUp.Load() {
				return errors.New(`cluster "staging" at https://10.0.0.1:6443: connection refused`)
			}
			return nil
		}},
		{"github", func(context.Context) error { githubCalls.Add(1); return nil }},
	}
	var r readiness
	ask := func(serve http.HandlerFunc) (int, string) {
		rec := httptest.NewRecorder()
		serve(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, string(body)
	}
	answer := func() (int, string) { return ask(r.serveDetail) }
	if code, body := answer(); code != http.StatusServiceUnavailable || !strings.Contains(body, "not serving") {
		t.Errorf("before serving: %d %q", code, body)
	}
	r.serving.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); r.watch(ctx, ps, zerolog.Nop()) }()

	waitFor(t, func() bool { _, body := answer(); return strings.Contains(body, "connection refused") })
	code, body := answer()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "cluster staging: cluster \"staging\" at https://10.0.0.1:6443: connection refused") {
		t.Errorf("cluster down: %d %q, want 503 naming the cluster and why", code, body)
	}
	if strings.Contains(body, "github") {
		t.Errorf("GitHub answered, yet %q names it", body)
	}
	// The webhook port, which the internet may reach, says no more than
	// that it is not ready: not which cluster, nor where.
	if code, body := ask(r.serveHTTP); code != http.StatusServiceUnavailable || strings.Contains(body, "staging") || strings.Contains(body, "10.0.0.1") {
		t.Errorf("webhook port's /readyz with the cluster down: %d %q, want 503 naming nothing", code, body)
	}
	clusterUp.Store(true)
	waitFor(t, func() bool { code, _ := answer(); return code == http.StatusOK })
	<-done
	// The probes that passed are not run again.
	if n := githubCalls.Load(); n != 1 {
		t.Errorf("GitHub probed %d times, want once", n)
	}
}

// Against the real test cluster and githubsim, the probes pass; a
// kubeconfig whose token the API server refuses does not.
func TestProbesAgainstClusterAndGitHub(t *testing.T) {
	w := newSimWorld(t)
	cfg := w.serverConfig(1)
	kc, err := clientcmd.Load(w.env.KubeconfigBytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range kc.AuthInfos {
		u.Token = "not-a-token"
	}
	wrong := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, wrong); err != nil {
		t.Fatal(err)
	}
	cfg.Clusters = append(cfg.Clusters, config.Cluster{Name: "wrong-token", Kubeconfig: wrong, Context: "testenv", Repos: config.AnyNamespace("acme/*")})
	s := buildWith(t, cfg)
	// Not serving yet: the webhook port says so without why, the metrics
	// port with it.
	for _, port := range []struct {
		name   string
		h      http.Handler
		detail bool
	}{{"webhook", s.Handler(), false}, {"metrics", s.MetricsHandler(), true}} {
		rec := httptest.NewRecorder()
		port.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "not serving") != port.detail {
			t.Errorf("%s port /readyz: %d %q, want 503 with the reason: %v", port.name, rec.Code, rec.Body, port.detail)
		}
	}
	got := map[string]error{}
	for _, p := range s.probes {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		got[p.name] = p.run(ctx)
		cancel()
	}
	if got["cluster test"] != nil || got["github"] != nil {
		t.Errorf("probes of a reachable cluster and GitHub: %v", got)
	}
	if err := got["cluster wrong-token"]; err == nil || !strings.Contains(err.Error(), "Unauthorized") || strings.Contains(err.Error(), "not-a-token") {
		t.Errorf("probe with a refused token: %v, want Unauthorized without the token", err)
	}
}
