// Package server is slipway's composition root: it builds every part once
// from the configuration and serves the webhook, health and metrics routes.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/chartsrc"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/scheduler"
	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/handler"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/leader"
	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/notify"
	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/runqueue"
	"github.com/slipwayhq/slipway/internal/throttle"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Routes and HTTP limits.
const (
	WebhookPath = "/api/github/hook"
	// GitHub caps webhook payloads at 25 MB; anything larger is not GitHub.
	MaxWebhookBytes   = 25 << 20
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	// renderedCommits is how many base commits' render inputs are remembered.
	renderedCommits = 64
)

// go-githubapp skips signature checks for an empty secret; never run like that.
var errEmptySecret = errors.New("github.app.webhook_secret is empty: refusing to accept unsigned webhooks")

// Server is a running slipway: webhook dispatcher, work queue and HTTP routes.
type Server struct {
	cfg     *config.Config
	log     zerolog.Logger
	metrics *metrics.Metrics
	sched   *scheduler.Scheduler
	handler http.Handler
	// metricsHandler serves /metrics on server.metrics_address, apart
	// from the webhook port.
	metricsHandler http.Handler
	metricsAddr    atomic.Value // the address /metrics is served on, once listening
	ready          readiness
	// probes are what /readyz waits for at start.
	probes []probe
	// notifier tells the notify list's receivers; nil with none.
	notifier *notify.Notifier
	// queue runs pull-request work after the webhook handler returns.
	queue   *runqueue.Queue
	closers []func() error
	// deps is what the handlers share; the periodic loops use it too.
	deps *handler.Deps
	// started is when this process began: work GitHub shows in progress
	// since before then was left by a stopped process.
	started time.Time
	// elector picks the replica that runs the periodic loops.
	elector  leader.Elector
	identity string
}

// New builds the server from cfg. It does not listen yet.
func New(cfg *config.Config, log zerolog.Logger) (*Server, error) {
	return newServer(cfg, log, nil)
}

// newServer is New with extra handlers beside slipway's own, for tests that
// need a handler to misbehave (panic) inside a real server.
func newServer(cfg *config.Config, log zerolog.Logger, extra []githubapp.EventHandler) (*Server, error) {
	if cfg.GitHub.App.WebhookSecret == "" {
		return nil, errEmptySecret
	}
	bounds, err := kube.NewBounds(cfg, kube.OwnNamespace())
	if err != nil {
		return nil, err
	}
	state, err := openStore(cfg, log)
	if err != nil {
		return nil, err
	}
	targets := kube.NewClusters(cfg, bounds)
	receivers, err := cfg.NotifyReceivers(os.Getenv)
	if err != nil {
		state.locks.Close()
		return nil, err
	}
	charts, err := chartsrc.New(cfg.ChartOptions())
	if err != nil {
		state.locks.Close()
		return nil, err
	}
	var (
		queue    *runqueue.Queue
		deps     *handler.Deps
		notifier *notify.Notifier
	)
	s, err := build(cfg, log, func(clients githubapp.ClientCreator, slug *gh.AppSlug, m *metrics.Metrics) []githubapp.EventHandler {
		notifier = notify.New(receivers, log, notify.Options{Count: func(kind, result string) { m.Notifications.WithLabelValues(kind, result).Inc() }})
		queue = runqueue.New(cfg.Server.Workers, runqueue.WithPanicHandler(func(key string, p *recovery.Panic) {
			m.Panics.WithLabelValues("job").Inc()
			log.Error().Str("key", key).Str("panic", p.Error()).Str("stack", string(p.Stack)).Msg("internal error: a queued job panicked")
		}))
		deps = &handler.Deps{
			Clients: clients,
			Slug:    slug,
			Queue:   queue,
			Runner: &workflow.Runner{
				AppID:   cfg.GitHub.App.IntegrationID,
				Targets: targets.ForRepo, Locks: countedLocks{state.locks, m.Jobs}, Runs: state.runs, Rendered: workflow.NewFilesCache(renderedCommits),
				Observer:  observer{jobs: m.Jobs, notify: notifier, webURL: strings.TrimSuffix(cfg.GitHub.WebURL, "/")},
				Unlockers: cfg.Unlockers,
				Outsiders: throttle.New(workflow.OutsiderReplyWindow, workflow.OutsiderReplyKeys),
				Options:   workflow.PlanOptions{Limits: cfg.RenderLimits(), Render: render.Options{Fetch: renderproc.Fetcher(charts)}},
			},
			Panics: m.Panics.WithLabelValues("job"),
		}
		return append([]githubapp.EventHandler{
			&handler.Installation{Clients: clients},
			&handler.PullRequest{Deps: deps},
			&handler.IssueComment{Deps: deps},
			&handler.PullRequestReview{Deps: deps},
			&handler.CheckRun{Deps: deps},
			&handler.Push{Deps: deps},
			&handler.MergeGroup{Deps: deps},
		}, extra...)
	})
	if err != nil {
		state.locks.Close()
		_ = notifier.Close(context.Background())
		return nil, err
	}
	s.notifier = notifier
	s.queue, s.closers, s.deps = queue, append(s.closers, state.locks.Close), deps
	s.identity, s.elector = state.identity, state.elector
	return s, nil
}

// build makes the server around the handlers makeHandlers returns, each
// wrapped so that a panic in it is recovered, logged, counted and reported.
func build(cfg *config.Config, log zerolog.Logger, makeHandlers func(githubapp.ClientCreator, *gh.AppSlug, *metrics.Metrics) []githubapp.EventHandler) (*Server, error) {
	appCfg, err := transport.AppConfig(cfg)
	if err != nil {
		return nil, err
	}
	if appCfg.App.WebhookSecret == "" {
		return nil, errEmptySecret
	}
	m := metrics.New()
	clients, err := transport.NewCreator(appCfg, clientOptions(cfg), m)
	if err != nil {
		return nil, fmt.Errorf("github clients: %w", err)
	}
	s := &Server{
		started: time.Now(),
		cfg:     cfg,
		log:     log,
		metrics: m,
		sched:   scheduler.New(cfg.Server.Workers, cfg.Server.QueueSize, m),
		elector: leader.Alone{},
	}
	// One slug for every handler and for the panic reports: GitHub is
	// asked once per process.
	slug := gh.NewAppSlug(clients)
	handlers := makeHandlers(clients, slug, m)
	for i, h := range handlers {
		handlers[i] = handler.Recovering(h, clients, slug, m.Panics.WithLabelValues("handler"))
	}
	dispatcher := githubapp.NewEventDispatcher(
		handlers,
		appCfg.App.WebhookSecret,
		githubapp.WithScheduler(s.sched),
		githubapp.WithErrorCallback(webhookError),
	)

	mux := http.NewServeMux()
	mux.Handle("POST "+WebhookPath, s.webhook(dispatcher))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.ready.serveHTTP)
	s.handler = mux
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", m.Handler())
	metricsMux.HandleFunc("GET /readyz", s.ready.serveDetail)
	s.metricsHandler = metricsMux
	s.probes = probes(cfg, clients)
	return s, nil
}

// Handler is every route of the webhook port, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler is the metrics port's routes: /metrics, and /readyz
// saying why it is not ready.
func (s *Server) MetricsHandler() http.Handler { return s.metricsHandler }

// MetricsAddr is the address /metrics is served on, "" until Serve listens.
func (s *Server) MetricsAddr() string {
	a, _ := s.metricsAddr.Load().(string)
	return a
}

// Metrics exposes the registry, for tests.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Serve answers webhooks on ln and /metrics on server.metrics_address
// until ctx ends, then shuts down gracefully: it stops accepting
// connections, finishes the requests being answered, and drains queued and
// running handlers and notifications within server.shutdown_timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	mln, err := net.Listen("tcp", s.cfg.Server.MetricsAddress)
	if err != nil {
		ln.Close()
		return fmt.Errorf("server.metrics_address: %w", err)
	}
	s.metricsAddr.Store(mln.Addr().String())
	srv, msrv := s.httpServer(s.handler), s.httpServer(s.metricsHandler)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- msrv.Serve(mln) }()
	loops, stopLoops := context.WithCancel(s.log.WithContext(context.Background()))
	defer stopLoops()
	go s.ready.watch(loops, s.probes, s.log)
	led := make(chan struct{})
	go func() {
		defer close(led)
		s.elector.Run(loops, s.runLoops)
	}()
	s.ready.serving.Store(true)
	s.log.Info().Str("address", ln.Addr().String()).Str("metrics_address", mln.Addr().String()).Msg("serving")

	select {
	case err := <-errc:
		s.ready.serving.Store(false)
		stopLoops()
		srv.Close()
		msrv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	s.ready.serving.Store(false)
	stopLoops()
	bound := time.Duration(s.cfg.Server.ShutdownTimeout)
	s.log.Info().Dur("bound", bound).Msg("shutting down: no new webhooks, draining work")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	httpErr := srv.Shutdown(shutdownCtx)
	drainErr := s.sched.Drain(shutdownCtx)
	// Leadership is handed over once the loops have stopped.
	select {
	case <-led:
	case <-shutdownCtx.Done():
	}
	var queueErr error
	if s.queue != nil {
		queueErr = s.queue.Drain(shutdownCtx)
	}
	// Last: the work drained above may still have had something to tell.
	notifyErr := s.notifier.Close(shutdownCtx)
	metricsErr := msrv.Shutdown(shutdownCtx)
	for _, c := range s.closers {
		_ = c()
	}
	if err := errors.Join(named("webhook server", httpErr), named("webhook handlers", drainErr), named("queued work", queueErr),
		notifyErr, named("metrics server", metricsErr)); err != nil {
		s.log.Error().Err(err).Msg("shutdown incomplete")
		return err
	}
	s.log.Info().Msg("shut down cleanly")
	return nil
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return s.log.WithContext(context.Background()) },
	}
}

// clientOptions are the limits the GitHub clients keep to, from the server
// config (config knows the keys, gh/transport the clients; the wiring is here).
func clientOptions(cfg *config.Config) transport.Options {
	return transport.Options{
		MaxRetryWait:          time.Duration(cfg.GitHub.MaxRetryWait),
		MaxConcurrentRequests: cfg.GitHub.MaxConcurrentRequests,
	}
}

// named says which part of a shutdown err is about ("" when err is nil).
func named(part string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", part, err)
}
