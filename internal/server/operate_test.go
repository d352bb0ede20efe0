package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/notify"
)

// notifyReceiver is a generic webhook receiver that keeps the messages
// whose signature verifies, and counts those that do not.
type notifyReceiver struct {
	t      *testing.T
	url    string
	secret string
	mu     sync.Mutex
	got    []notify.Message
	bodies []string
	forged int
}

func newNotifyReceiver(t *testing.T) *notifyReceiver {
	r := &notifyReceiver{t: t, secret: "receiver-key-0123456789abcdef"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !notify.Verify([]byte(r.secret), body, req.Header.Get(notify.SignatureHeader)) {
			r.forged++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m notify.Message
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("notification is not a message: %s", body)
		}
		r.got, r.bodies = append(r.got, m), append(r.bodies, string(body))
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// configure adds the receiver to a server config, its key in a file.
func (r *notifyReceiver) configure(cfg *config.Config) {
	path := filepath.Join(r.t.TempDir(), "notify-key")
	if err := os.WriteFile(path, []byte(r.secret+"\n"), 0o600); err != nil {
		r.t.Fatal(err)
	}
	cfg.Notify = append(cfg.Notify, config.Notify{Kind: notify.KindWebhook, URL: r.url, SecretFile: path})
}

// withDownReceiver adds a Slack receiver that is down: the work must not
// notice.
func (r *notifyReceiver) withDownReceiver(cfg *config.Config) {
	down := filepath.Join(r.t.TempDir(), "slack-url")
	if err := os.WriteFile(down, []byte("http://127.0.0.1:1/services/T0/B0/down\n"), 0o600); err != nil {
		r.t.Fatal(err)
	}
	cfg.Notify = append(cfg.Notify, config.Notify{Kind: notify.KindSlack, URLFile: down})
}

func (r *notifyReceiver) messages() ([]notify.Message, []string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Message(nil), r.got...), append([]string(nil), r.bodies...), r.forged
}

// scrape reads /metrics from the metrics port.
func (w *world) scrape() string {
	w.t.Helper()
	res, err := http.Get("http://" + w.srv.MetricsAddr() + "/metrics")
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// metricValue is the value of the series named exactly (name{labels}) in
// a scrape; -1 when absent.
func metricValue(scrape, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(scrape)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// operatedAsTold checks what TestApplyBeforeMerge's work shows on the
// metrics port and at the notify receiver: plans, two applies that
// succeeded and one that failed, the objects they changed, the lock the
// first pull request held until it merged; a signed notification of each
// apply with its links, and never the Secret's value; and a receiver that
// was down all along, counted as failing, while every apply went on.
func (w *world) operatedAsTold(recv *notifyReceiver) {
	w.t.Helper()
	var scrape string
	w.eventually("the failed apply counted", func() bool {
		scrape = w.scrape()
		return metricValue(scrape, `slipway_applies_total{environment="staging",kind="apply",outcome="failure"}`) == 1
	})
	for series, atLeast := range map[string]float64{
		`slipway_plans_total{environment="staging",outcome="changes"}`:                4,
		`slipway_plan_duration_seconds_count{environment="staging"}`:                  4,
		`slipway_applies_total{environment="staging",kind="apply",outcome="success"}`: 2,
		`slipway_applies_total{environment="staging",kind="apply",outcome="refused"}`: 1,
		`slipway_apply_duration_seconds_count{environment="staging",kind="apply"}`:    4,
		`slipway_objects_changed_total{action="created",environment="staging"}`:       3, // web, db, extra (old was made by hand first)
		`slipway_objects_changed_total{action="configured",environment="staging"}`:    1, // old (the crashing web is unhealthy, not configured)
		`slipway_objects_changed_total{action="deleted",environment="staging"}`:       1,
		`slipway_locks_taken_total{environment="staging"}`:                            1,
		`slipway_lock_held_seconds_count{environment="staging"}`:                      1,
		`slipway_notifications_total{kind="webhook",result="sent"}`:                   4,
		`slipway_webhook_deliveries_total{event="pull_request",result="accepted"}`:    1,
		`slipway_github_requests_total{code="2xx"}`:                                   1,
	} {
		if got := metricValue(scrape, series); got < atLeast {
			w.t.Errorf("%s = %v, want at least %v", series, got, atLeast)
		}
	}
	w.eventually("the receiver that is down counted", func() bool {
		return metricValue(w.scrape(), `slipway_notifications_total{kind="slack",result="failed"}`) >= 1
	})
	if strings.Contains(scrape, secretValue) {
		w.t.Error("/metrics shows the Secret's value")
	}

	msgs, bodies, forged := recv.messages()
	if forged != 0 {
		w.t.Errorf("%d notifications failed their signature", forged)
	}
	outcomes := map[string]int{}
	for _, m := range msgs {
		outcomes[m.Outcome]++
		if m.Event != notify.EventApply || m.Repository != w.repo || m.Environment != "staging" || m.Commit == "" ||
			!strings.Contains(m.Text, "apply of "+w.repo+" to staging at "+m.Commit[:7]) {
			w.t.Errorf("notification %+v, want an apply of %s staging", m, w.repo)
		}
		pr := fmt.Sprintf("%s/%s/pull/%d", w.sim.URL(), w.repo, m.PullRequest)
		if m.Links.PullRequest != pr || m.Links.Deployments != w.sim.URL()+"/"+w.repo+"/deployments/staging" {
			w.t.Errorf("links %+v, want the pull request %s and staging's deployments", m.Links, pr)
		}
		if m.Outcome != "refused" && m.Links.Check == "" {
			w.t.Errorf("a %s apply's notification has no link to its check run", m.Outcome)
		}
	}
	if outcomes["success"] != 2 || outcomes["failure"] != 1 {
		w.t.Errorf("notified outcomes %v, want 2 success and 1 failure", outcomes)
	}
	for _, b := range bodies {
		if strings.Contains(b, secretValue) {
			w.t.Error("a notification carries the Secret's value")
		}
	}
}
