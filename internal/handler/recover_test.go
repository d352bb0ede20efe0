package handler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/runqueue"
	"github.com/slipwayhq/slipway/internal/testkit/world"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestAboutOf(t *testing.T) {
	repo := `"repository":{"name":"shop","owner":{"login":"acme"}},"installation":{"id":7}`
	tests := []struct {
		name    string
		payload string
		want    about
	}{
		{"pull_request", `{"number":3,` + repo + `}`, about{7, "acme", "shop", 3}},
		{"pull_request_review", `{"pull_request":{"number":4},` + repo + `}`, about{7, "acme", "shop", 4}},
		{"comment on a pull request", `{"issue":{"number":5,"pull_request":{"url":"x"}},` + repo + `}`, about{7, "acme", "shop", 5}},
		{"comment on an issue", `{"issue":{"number":5},` + repo + `}`, about{7, "acme", "shop", 0}},
		{"comment on an issue, pull_request null", `{"issue":{"number":5,"pull_request":null},` + repo + `}`, about{7, "acme", "shop", 0}},
		{"check_run", `{"check_run":{"pull_requests":[{"number":6}]},` + repo + `}`, about{7, "acme", "shop", 6}},
		{"push", `{"ref":"refs/heads/main",` + repo + `}`, about{7, "acme", "shop", 0}},
		{"not JSON", `nope`, about{}},
		{"wrong types", `{"number":"x"}`, about{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := aboutOf([]byte(tt.payload)); got != tt.want {
				t.Errorf("aboutOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// simPR is a githubsim repository acme/shop with pull request #1, and the
// clients slipway would use for it.
type simPR struct {
	*world.World
	deps    *Deps
	number  int
	session *workflow.Session
	logs    *world.Buffer
}

func newSimPR(t *testing.T) *simPR {
	t.Helper()
	w := world.New(t, world.Options{})
	n := w.OpenPR(t, "change", "alice", map[string]string{"a.txt": "a\n"})
	cfg := w.ServerConfig()
	clients := w.Clients(t, transport.Options{MaxRetryWait: time.Duration(cfg.GitHub.MaxRetryWait), MaxConcurrentRequests: cfg.GitHub.MaxConcurrentRequests}, nil)
	client, err := clients.NewInstallationClient(w.Installation)
	if err != nil {
		t.Fatal(err)
	}
	queue := runqueue.New(1)
	t.Cleanup(func() { _ = queue.Drain(context.Background()) })
	return &simPR{
		World: w, number: n, logs: &world.Buffer{},
		deps: &Deps{Clients: clients, Queue: queue, Panics: prometheus.NewCounter(prometheus.CounterOpts{Name: "panics"})},
		session: &workflow.Session{
			Runner: &workflow.Runner{Bot: w.Sim.BotLogin()},
			GitHub: gh.New(client),
			Repo:   w.GHRepo(),
		},
	}
}

func (s *simPR) log() string { return s.logs.String() }

func (s *simPR) ctx() context.Context {
	return zerolog.New(s.logs).WithContext(withDelivery(context.Background(), "delivery-123"))
}

// notices are slipway's internal-error comments on the pull request.
func (s *simPR) notices() []string {
	var out []string
	for _, c := range s.SlipwayComments(s.number) {
		if strings.Contains(c.GetBody(), "internal error") {
			out = append(out, c.GetBody())
		}
	}
	return out
}

// A queued job that panics is logged with its stack, counted, told to its
// pull request once (edited, not repeated), and the queue runs on.
func TestSubmitRecoversPanics(t *testing.T) {
	s := newSimPR(t)
	const secretish = "panic-detail-77c1"
	var after sync.WaitGroup
	after.Add(1)
	for range 2 {
		s.deps.submit(s.ctx(), s.session, s.number, runqueue.Job{Key: "acme/shop#1"}, "plan", func(context.Context) error {
			panic(errors.New(secretish))
		})
	}
	s.deps.submit(s.ctx(), s.session, s.number, runqueue.Job{Key: "acme/shop#1"}, "plan", func(context.Context) error {
		after.Done()
		return nil
	})
	after.Wait()
	world.Eventually(t, 10*time.Second, "two panics counted", func() bool { return testutil.ToFloat64(s.deps.Panics) == 2 })
	world.Eventually(t, 10*time.Second, "a notice", func() bool { return len(s.notices()) == 1 })
	notice := s.notices()[0]
	for _, want := range []string{"internal error during `plan`", "delivery `delivery-123`", "/plan"} {
		if !strings.Contains(notice, want) {
			t.Errorf("notice does not say %q:\n%s", want, notice)
		}
	}
	for _, internal := range []string{secretish, "goroutine", ".go:"} {
		if strings.Contains(notice, internal) {
			t.Errorf("notice reveals %q:\n%s", internal, notice)
		}
	}
	if log := s.log(); !strings.Contains(log, secretish) || !strings.Contains(log, "recover_test.go") {
		t.Errorf("log lacks the panic and its stack:\n%s", log)
	}
}

// A panic in a worker goroutine of a job (a plan's environments run in
// parallel) reaches the job's recovery instead of ending the process.
func TestSubmitRecoversPanicsOfTheJobsGoroutines(t *testing.T) {
	s := newSimPR(t)
	s.deps.submit(s.ctx(), s.session, s.number, runqueue.Job{Key: "acme/shop#1"}, "apply", func(context.Context) error {
		var caught recovery.Caught
		var wg sync.WaitGroup
		wg.Go(func() {
			defer caught.Recover()
			var m map[string]int
			m["x"]++
		})
		wg.Wait()
		caught.Repanic()
		return nil
	})
	world.Eventually(t, 10*time.Second, "a notice", func() bool { return len(s.notices()) == 1 })
	if !strings.Contains(s.notices()[0], "during `apply`") {
		t.Errorf("notice: %s", s.notices()[0])
	}
}

type panicHandler struct{ value any }

func (panicHandler) Handles() []string { return []string{"pull_request"} }
func (h panicHandler) Handle(context.Context, string, string, []byte) error {
	panic(h.value)
}

// Recovering turns a handler's panic into a *recovery.Panic, reports it on
// the pull request the payload names, and leaves payloads about no pull
// request (or unreadable ones) to the log.
func TestRecoveringHandler(t *testing.T) {
	s := newSimPR(t)
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "handler_panics"})
	h := Recovering(panicHandler{"boom"}, s.deps.Clients, s.deps.Slug, counter)
	payloads := []string{
		"not json at all",
		fmt.Sprintf(`{"ref":"refs/heads/main","repository":{"name":"shop","owner":{"login":"acme"}},"installation":{"id":%d}}`, s.Installation),
		fmt.Sprintf(`{"number":%d,"repository":{"name":"shop","owner":{"login":"acme"}},"installation":{"id":%d}}`, s.number, s.Installation),
	}
	for i, p := range payloads {
		err := h.Handle(s.ctx(), "pull_request", fmt.Sprint("d", i), []byte(p))
		var rp *recovery.Panic
		if !errors.As(err, &rp) {
			t.Fatalf("payload %d: error %v, want a *recovery.Panic", i, err)
		}
	}
	if got := testutil.ToFloat64(counter); got != 3 {
		t.Errorf("counted %v panics, want 3", got)
	}
	notices := s.notices()
	if len(notices) != 1 || !strings.Contains(notices[0], "during `pull_request`") || !strings.Contains(notices[0], "delivery `d2`") {
		t.Errorf("notices %q: want one, for the payload naming the pull request", notices)
	}
}
