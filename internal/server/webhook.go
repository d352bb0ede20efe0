package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh/scheduler"
	"github.com/slipwayhq/slipway/internal/logging"
	"github.com/slipwayhq/slipway/internal/soakfault"
	"github.com/slipwayhq/slipway/internal/statusrec"
)

// Delivery results as counted in slipway_webhook_deliveries_total.
const (
	resultAccepted    = "accepted"    // a handler took it
	resultIgnored     = "ignored"     // valid, but no handler for the event
	resultRejected    = "rejected"    // bad signature, headers or payload
	resultUnavailable = "unavailable" // queue full or shutting down
	resultError       = "error"
)

// webhook guards the dispatcher: bounded body, mandatory SHA-256 signature
// (go-github would fall back to SHA-1), logging context, and a count of
// every delivery by result.
func (s *Server) webhook(dispatcher http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		event := r.Header.Get("X-GitHub-Event")
		ctx := logging.Delivery(r.Context(), event, r.Header.Get("X-GitHub-Delivery"))
		r = r.WithContext(ctx)
		rec := statusrec.New(w)

		switch {
		case r.Header.Get("X-Hub-Signature-256") == "":
			zerolog.Ctx(ctx).Warn().Msg("webhook rejected: missing X-Hub-Signature-256")
			http.Error(rec, "missing X-Hub-Signature-256", http.StatusUnauthorized)
		default:
			if soakfault.On(soakfault.SlowWebhook) && event == "issue_comment" {
				time.Sleep(11 * time.Second)
			}
			r.Body = http.MaxBytesReader(rec, r.Body, MaxWebhookBytes)
			dispatcher.ServeHTTP(rec, r)
		}
		s.metrics.Deliveries.WithLabelValues(metricEvent(event), result(rec.Status())).Inc()
	})
}

// webhookError answers dispatcher errors with the status GitHub's delivery
// log should show.
func webhookError(w http.ResponseWriter, r *http.Request, err error) {
	logger := zerolog.Ctx(r.Context())
	var ve githubapp.ValidationError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ve) && errors.As(ve.Cause, &tooBig):
		logger.Warn().Msg("webhook rejected: body larger than 25 MiB")
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
	case errors.As(err, &ve) && (strings.Contains(ve.Cause.Error(), "signature") || strings.Contains(ve.Cause.Error(), "hash type")):
		logger.Warn().Err(ve.Cause).Msg("webhook rejected: bad signature")
		http.Error(w, "invalid signature", http.StatusUnauthorized)
	case errors.As(err, &ve):
		logger.Warn().Err(ve.Cause).Msg("webhook rejected: invalid headers or payload")
		http.Error(w, "invalid webhook headers or payload", http.StatusBadRequest)
	case errors.Is(err, githubapp.ErrCapacityExceeded), errors.Is(err, scheduler.ErrDraining):
		logger.Warn().Err(err).Msg("webhook refused: no capacity")
		w.Header().Set("Retry-After", "10")
		http.Error(w, "busy, redeliver later", http.StatusServiceUnavailable)
	default:
		logger.Error().Err(err).Msg("webhook failed")
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

func result(status int) string {
	switch {
	case status == http.StatusOK:
		return resultAccepted
	case status == http.StatusAccepted:
		return resultIgnored
	case status == http.StatusServiceUnavailable:
		return resultUnavailable
	case status >= 400 && status < 500:
		return resultRejected
	default:
		return resultError
	}
}

// metricEvent keeps label cardinality bounded whatever a caller sends.
func metricEvent(event string) string {
	if event == "" || len(event) > 40 || strings.ContainsFunc(event, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z')
	}) {
		return "unknown"
	}
	return event
}
