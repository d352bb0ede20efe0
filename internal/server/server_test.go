package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/metrics"
	testworld "github.com/slipwayhq/slipway/internal/testkit/world"
)

const secret = "test-secret"

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.GitHub.App.IntegrationID = 1
	cfg.GitHub.App.WebhookSecret = secret
	cfg.GitHub.App.PrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	cfg.Server.Workers = 1
	cfg.Server.MetricsAddress = "127.0.0.1:0"
	cfg.Server.QueueSize = 1
	cfg.Server.ShutdownTimeout = config.Duration(5 * time.Second)
	return cfg
}

func sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// deliveries numbers test deliveries: each is new, as GitHub's are.
var deliveries atomic.Int64

func deliver(t *testing.T, h http.Handler, event string, body []byte, signature string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("d-%s-%d", event, deliveries.Add(1)))
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// blocking is a handler that waits for release and counts what it saw.
type blocking struct {
	events  []string
	release chan struct{}
	started chan string
	handled atomic.Int32
}

func (b *blocking) Handles() []string { return b.events }

func (b *blocking) Handle(ctx context.Context, event, _ string, _ []byte) error {
	b.started <- event
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.handled.Add(1)
	return nil
}

func newBlocking(events ...string) *blocking {
	return &blocking{events: events, release: make(chan struct{}), started: make(chan string, 10)}
}

func buildWith(t *testing.T, cfg *config.Config, hs ...githubapp.EventHandler) *Server {
	t.Helper()
	s, err := build(cfg, zerolog.Nop(), func(githubapp.ClientCreator, *gh.AppSlug, *metrics.Metrics) []githubapp.EventHandler { return hs })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWebhookSignatures(t *testing.T) {
	b := newBlocking("pull_request")
	close(b.release)
	s := buildWith(t, testConfig(t), b)
	body := []byte(`{"action":"opened","number":1}`)

	tests := []struct {
		name      string
		event     string
		body      []byte
		signature string
		want      int
		result    string
	}{
		{"missing signature", "pull_request", body, "", http.StatusUnauthorized, resultRejected},
		{"wrong signature", "pull_request", body, sign([]byte("other")), http.StatusUnauthorized, resultRejected},
		{"malformed signature", "pull_request", body, "sha256=zz", http.StatusUnauthorized, resultRejected},
		{"ping is answered", "ping", []byte(`{"zen":"hi"}`), sign([]byte(`{"zen":"hi"}`)), http.StatusOK, resultAccepted},
		{"handled event", "pull_request", body, sign(body), http.StatusOK, resultAccepted},
		{"unknown event is accepted and ignored", "star", []byte(`{}`), sign([]byte(`{}`)), http.StatusAccepted, resultIgnored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(s.metrics.Deliveries.WithLabelValues(tt.event, tt.result))
			res := deliver(t, s.Handler(), tt.event, tt.body, tt.signature)
			if res.StatusCode != tt.want {
				t.Errorf("status %d, want %d", res.StatusCode, tt.want)
			}
			if got := testutil.ToFloat64(s.metrics.Deliveries.WithLabelValues(tt.event, tt.result)); got != before+1 {
				t.Errorf("deliveries{%s,%s} = %v, want %v", tt.event, tt.result, got, before+1)
			}
		})
	}
	// Only the one correctly signed pull_request reached the handler.
	waitFor(t, func() bool { return b.handled.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := b.handled.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	s := buildWith(t, testConfig(t), newBlocking("push"))
	body := bytes.Repeat([]byte("a"), MaxWebhookBytes+1)
	res := deliver(t, s.Handler(), "push", body, sign(body))
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", res.StatusCode)
	}
}

func TestQueueFullAnswers503(t *testing.T) {
	b := newBlocking("push")
	s := buildWith(t, testConfig(t), b) // one worker, queue of one
	defer close(b.release)
	body := []byte(`{}`)
	if res := deliver(t, s.Handler(), "push", body, sign(body)); res.StatusCode != http.StatusOK {
		t.Fatalf("first: %d", res.StatusCode)
	}
	<-b.started // the worker is busy
	if res := deliver(t, s.Handler(), "push", body, sign(body)); res.StatusCode != http.StatusOK {
		t.Fatalf("second (queued): %d", res.StatusCode)
	}
	if got := testutil.ToFloat64(s.metrics.QueueDepth); got != 1 {
		t.Errorf("queue depth %v, want 1", got)
	}
	res := deliver(t, s.Handler(), "push", body, sign(body))
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("third: status %d, want 503 with Retry-After", res.StatusCode)
	}
}

func TestGracefulShutdownDrainsWork(t *testing.T) {
	b := newBlocking("push")
	s := buildWith(t, testConfig(t), b)
	s.probes = nil // its GitHub is nowhere; readiness has tests of its own
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	waitFor(t, func() bool { return get(base+"/readyz") == http.StatusOK })
	if code := get(base + "/healthz"); code != http.StatusOK {
		t.Errorf("healthz %d", code)
	}

	body := []byte(`{}`)
	req, _ := http.NewRequest(http.MethodPost, base+WebhookPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("delivery: %v %v", res, err)
	}
	res.Body.Close()
	<-b.started

	cancel() // SIGTERM
	waitFor(t, func() bool { return !s.ready.serving.Load() })
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown began")
	}
	select {
	case err := <-served:
		t.Fatalf("returned before the running handler finished: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(b.release)
	if err := <-served; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if b.handled.Load() != 1 {
		t.Error("in-flight handler did not finish")
	}
	if n := handledCount(t, s, "push", "ok"); n != 1 {
		t.Errorf("handler duration count %d, want 1", n)
	}
}

// handledCount reads how many handler runs the duration histogram recorded.
func handledCount(t *testing.T, s *Server, event, outcome string) uint64 {
	t.Helper()
	families, err := s.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "slipway_handler_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["event"] == event && labels["outcome"] == outcome {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func TestShutdownBoundCancelsStuckHandlers(t *testing.T) {
	cfg := testConfig(t)
	cfg.Server.ShutdownTimeout = config.Duration(200 * time.Millisecond)
	b := newBlocking("push") // never released: only ctx cancellation ends it
	s := buildWith(t, cfg, b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	body := []byte(`{}`)
	if res := deliver(t, s.Handler(), "push", body, sign(body)); res.StatusCode != http.StatusOK {
		t.Fatal(res.StatusCode)
	}
	<-b.started
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("want a drain error naming the bound, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not respect its bound")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := buildWith(t, testConfig(t))
	body := []byte(`{}`)
	deliver(t, s.Handler(), "ping", body, sign(body))
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out, _ := io.ReadAll(rec.Body)
	// Not on the webhook port, which an ingress exposes.
	onWebhookPort := httptest.NewRecorder()
	s.Handler().ServeHTTP(onWebhookPort, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if onWebhookPort.Code != http.StatusNotFound {
		t.Errorf("/metrics on the webhook port: %d, want 404", onWebhookPort.Code)
	}
	for _, want := range []string{
		`slipway_webhook_deliveries_total{event="ping",result="accepted"} 1`,
		"slipway_queue_depth 0",
		"go_goroutines",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestEmptySecretRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.GitHub.App.WebhookSecret = ""
	if _, err := New(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "github.app.webhook_secret") {
		t.Fatalf("want an error naming github.app.webhook_secret, got %v", err)
	}
}

func get(url string) int {
	res, err := http.Get(url)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testworld.Eventually(t, 10*time.Second, "the condition", cond)
}
