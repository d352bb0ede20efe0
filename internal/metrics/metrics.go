// Package metrics defines slipway's Prometheus metrics on a registry of its
// own, so tests can build as many servers as they like.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is every metric slipway exports.
type Metrics struct {
	Registry *prometheus.Registry

	// Deliveries counts webhook deliveries by event and result
	// (accepted, ignored, rejected, unavailable, error).
	Deliveries *prometheus.CounterVec
	// QueueDepth is the number of deliveries waiting for a worker.
	QueueDepth prometheus.Gauge
	// Running is the number of deliveries being handled now.
	Running prometheus.Gauge
	// HandlerDuration times handlers by event and outcome (ok, error, panic).
	HandlerDuration *prometheus.HistogramVec
	// GitHubRequests counts calls to the GitHub API by status code class.
	GitHubRequests *prometheus.CounterVec
	// GitHubRateLimited counts answers that were a rate limit (primary or secondary).
	GitHubRateLimited *prometheus.CounterVec
	// GitHubRetries counts calls sent again, by reason (primary, secondary,
	// server_error, transport).
	GitHubRetries *prometheus.CounterVec
	// GitHubCached counts answers served from the HTTP cache after GitHub
	// confirmed them unchanged (304).
	GitHubCached prometheus.Counter
	// DuplicateDeliveries counts deliveries answered without being handled
	// again: GitHub reuses a delivery's id when it redelivers it.
	DuplicateDeliveries prometheus.Counter
	// Panics counts panics recovered, by where they happened (handler: a
	// webhook handler; job: queued work; loop: a resync or drift pass).
	Panics *prometheus.CounterVec
	// Jobs are the metrics about plans, applies, drift, locks and deploys.
	Jobs *Jobs
	// Notifications counts notifications by receiver kind and result
	// (sent, failed, dropped).
	Notifications *prometheus.CounterVec
}

// New registers every metric on a fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_webhook_deliveries_total",
			Help: "Webhook deliveries received, by event and result.",
		}, []string{"event", "result"}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "slipway_queue_depth",
			Help: "Webhook deliveries accepted and waiting for a worker.",
		}),
		Running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "slipway_queue_running",
			Help: "Webhook deliveries being handled now.",
		}),
		HandlerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slipway_handler_duration_seconds",
			Help:    "Time spent handling a webhook delivery, by event and outcome.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"event", "outcome"}),
		GitHubRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_github_requests_total",
			Help: "Requests to the GitHub API, by status code class.",
		}, []string{"code"}),
		GitHubRateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_github_rate_limited_total",
			Help: "GitHub API answers that were a rate limit, by kind (primary, secondary).",
		}, []string{"kind"}),
		GitHubRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_github_retries_total",
			Help: "GitHub API calls sent again, by reason (primary, secondary, server_error, transport).",
		}, []string{"reason"}),
		GitHubCached: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slipway_github_cached_total",
			Help: "GitHub API answers served from the HTTP cache after GitHub confirmed them unchanged.",
		}),
		DuplicateDeliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slipway_webhook_duplicate_deliveries_total",
			Help: "Webhook deliveries whose id was handled before (redeliveries), answered without handling them again.",
		}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_panics_total",
			Help: "Panics recovered, by where they happened (handler, job, loop).",
		}, []string{"where"}),
		Jobs: newJobs(MaxEnvironments),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_notifications_total",
			Help: "Notifications to the receivers of the notify list, by receiver kind and result (sent, failed, dropped).",
		}, []string{"kind", "result"}),
	}
	reg.MustRegister(
		m.Deliveries, m.QueueDepth, m.Running, m.HandlerDuration,
		m.GitHubRequests, m.GitHubRateLimited, m.GitHubRetries, m.GitHubCached,
		m.DuplicateDeliveries, m.Panics, m.Notifications,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	reg.MustRegister(m.Jobs.collectors()...)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
