package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/notify"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Which events become notifications, with which links: every rollout;
// a drift check only when its result is news.
func TestObserverTellsWhatIsNews(t *testing.T) {
	recv := newNotifyReceiver(t)
	cfg := testConfig(t)
	recv.configure(cfg)
	receivers, err := cfg.NotifyReceivers(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	n := notify.New(receivers, zerolog.Nop(), notify.Options{})
	o := observer{jobs: m.Jobs, notify: n, webURL: "https://github.example"}
	sha := "0123456789abcdef0123456789abcdef01234567"
	for _, e := range []workflow.Event{
		{Kind: workflow.KindPlan, Repo: "acme/shop", Env: "staging", Outcome: workflow.OutcomeChanges, Commit: sha, PR: 3},
		{Kind: workflow.KindDeploy, Repo: "acme/shop", Env: "staging", Outcome: workflow.OutcomeSuccess, Commit: sha, PR: 3,
			Summary: "1 created", Objects: map[apply.Outcome]int{apply.Created: 1, apply.Unchanged: 4}, CheckURL: "https://github.example/acme/shop/runs/1"},
		{Kind: workflow.KindDrift, Repo: "acme/shop", Env: "production", Outcome: workflow.OutcomeInSync, Commit: sha},                                                      // first check, in sync: quiet
		{Kind: workflow.KindDrift, Repo: "acme/shop", Env: "production", Outcome: workflow.OutcomeDrifted, Commit: sha, Summary: "~1"},                                      // found: told
		{Kind: workflow.KindDrift, Repo: "acme/shop", Env: "production", Outcome: workflow.OutcomeDrifted, Commit: sha, Repeat: true},                                       // again: quiet
		{Kind: workflow.KindDrift, Repo: "acme/shop", Env: "production", Outcome: workflow.OutcomeInSync, Commit: sha, CheckURL: "https://github.example/acme/shop/runs/2"}, // gone: told
	} {
		o.Observe(e)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ := recv.messages()
	var got []string
	for _, msg := range msgs {
		got = append(got, msg.Event+" "+msg.Outcome)
	}
	if strings.Join(got, ", ") != "deploy success, drift drifted, drift in_sync" {
		t.Fatalf("notified %v, want the deploy, the drift found and the drift gone", got)
	}
	d := msgs[0]
	if d.Links.PullRequest != "https://github.example/acme/shop/pull/3" || d.Links.Deployments != "https://github.example/acme/shop/deployments/staging" ||
		d.Links.Check != "https://github.example/acme/shop/runs/1" || d.Links.Commit != "https://github.example/acme/shop/commit/"+sha ||
		d.Text != "✅ slipway: deploy of acme/shop to staging at 0123456 succeeded (1 created)" {
		t.Errorf("deploy message %+v", d)
	}
	scrape := scrapeOf(t, m)
	for series, want := range map[string]float64{
		`slipway_drift_checks_total{environment="production",outcome="drifted"}`:       2,
		`slipway_drift_checks_total{environment="production",outcome="in_sync"}`:       2,
		`slipway_plans_total{environment="staging",outcome="changes"}`:                 1,
		`slipway_applies_total{environment="staging",kind="deploy",outcome="success"}`: 1,
		`slipway_objects_changed_total{action="created",environment="staging"}`:        1,
	} {
		if got := metricValue(scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// scrapeOf is m's /metrics.
func scrapeOf(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// Locks are counted when a pull request takes one, not when it takes it
// again, and their hold time when released, one by one or all at once.
func TestCountedLocks(t *testing.T) {
	store, err := lock.OpenBolt(filepath.Join(t.TempDir(), "locks.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := metrics.New()
	locks := countedLocks{store, m.Jobs}
	ctx := context.Background()
	staging, prod := lock.Key{Repo: "acme/shop", Env: "staging"}, lock.Key{Repo: "acme/shop", Env: "production"}
	pr := lock.Holder{Repo: "acme/shop", PR: 7}
	for _, k := range []lock.Key{staging, staging, prod} {
		if err := locks.Acquire(ctx, k, pr); err != nil {
			t.Fatal(err)
		}
	}
	if err := locks.Acquire(ctx, staging, lock.Holder{Repo: "acme/shop", PR: 8}); err == nil {
		t.Fatal("another pull request took a held lock")
	}
	if err := locks.Release(ctx, staging, lock.Holder{Repo: "acme/shop", PR: 8}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := locks.Release(ctx, staging, pr); err != nil {
		t.Fatal(err)
	}
	if _, err := locks.ReleasePR(ctx, "acme/shop", 7); err != nil {
		t.Fatal(err)
	}
	scrape := scrapeOf(t, m)
	for series, want := range map[string]float64{
		`slipway_locks_taken_total{environment="staging"}`:          1,
		`slipway_locks_taken_total{environment="production"}`:       1,
		`slipway_lock_held_seconds_count{environment="staging"}`:    1,
		`slipway_lock_held_seconds_count{environment="production"}`: 1,
	} {
		if got := metricValue(scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}
