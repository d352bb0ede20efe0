package githubsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/slipwayhq/slipway/internal/statusrec"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Request is one HTTP request the simulator answered.
type Request struct {
	Method         string
	Path           string
	Query          string
	Body           []byte // what the client sent, for asserting what never leaves it
	InstallationID int64  // the installation whose token was used; 0 otherwise
	App            bool   // authenticated with the app's JWT
	Status         int
	Unsupported    bool // no simulated endpoint matched
	Fault          bool // answered by an injected Fault
	Time           time.Time
}

// recorder keeps the request and delivery logs and pending faults. It has
// its own lock because it is written outside of Sim.mu (after responses
// are sent and while webhooks are in flight).
type recorder struct {
	mu         sync.Mutex
	requests   []Request
	deliveries []Delivery
	faults     []*Fault
}

func newRecorder() *recorder { return &recorder{} }

type requestKey struct{}

// requestRecord is where route wrappers note who made the call.
func requestRecord(r *http.Request) *Request {
	rec, _ := r.Context().Value(requestKey{}).(*Request)
	if rec == nil {
		return &Request{}
	}
	return rec
}

// middleware records every request and applies injected faults before the
// request reaches its endpoint.
func (s *Sim) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Time: time.Now().UTC()}
		if r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				writeError(w, http.StatusBadRequest, "Problems parsing JSON", nil)
				return
			}
			rec.Body = body
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sw := statusrec.New(w)
		sw.Header().Set("X-GitHub-Request-Id", RandomHex(8))
		sw.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
		f := s.log.takeFault(r.Method, r.URL.Path)
		switch {
		case f != nil && !f.wait(r.Context()):
			rec.Fault = true // the client gave up on a slow answer: nothing happened
		case f != nil && f.Status == 0:
			rec.Fault = true
			next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestKey{}, rec)))
		case f != nil:
			rec.Fault = true
			if f.AfterEffect {
				next.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.WithValue(r.Context(), requestKey{}, rec)))
			}
			f.write(sw)
		default:
			next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestKey{}, rec)))
		}
		rec.Status = sw.Status()
		s.log.mu.Lock()
		s.log.requests = append(s.log.requests, *rec)
		s.log.mu.Unlock()
	})
}

// unsupported answers everything no endpoint matched, as GitHub answers
// unknown routes, and flags it so tests can assert nothing unexpected was
// called.
func (s *Sim) unsupported(w http.ResponseWriter, r *http.Request) {
	requestRecord(r).Unsupported = true
	writeError(w, http.StatusNotFound, "Not Found", nil)
}

// Requests returns every request answered so far, oldest first.
func (s *Sim) Requests() []Request {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return append([]Request(nil), s.log.requests...)
}

// Unsupported lists "METHOD /path" of requests no simulated endpoint
// handled; a correct client under test leaves it empty.
func (s *Sim) Unsupported() []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Unsupported {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// ResetLog forgets recorded requests and deliveries, so a test can assert on
// what one step did.
func (s *Sim) ResetLog() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.requests = nil
	s.log.deliveries = nil
}

// RandomHex is n random bytes in hex: tokens, ids and secrets, the
// simulator's own and its callers' (a webhook secret).
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
