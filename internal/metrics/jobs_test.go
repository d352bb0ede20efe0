package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Environment names come from repositories' config: a repository that
// names thousands of environments, or names that are no environment name,
// must not grow the series without end.
func TestEnvironmentLabelIsBounded(t *testing.T) {
	m := New()
	for i := range MaxEnvironments + 50 {
		m.Jobs.Plan(fmt.Sprintf("env-%d", i), "changes", time.Second)
	}
	m.Jobs.Plan(`staging"} 1`+"\n", "changes", time.Second)
	m.Jobs.Plan(strings.Repeat("a", 64), "changes", time.Second)
	if n := testutil.CollectAndCount(m.Jobs.plans); n != MaxEnvironments+2 {
		t.Errorf("%d plan series, want %d environments, other and invalid", n, MaxEnvironments+2)
	}
	if got := testutil.ToFloat64(m.Jobs.plans.WithLabelValues(EnvOther, "changes")); got != 50 {
		t.Errorf("other: %v plans, want 50", got)
	}
	if got := testutil.ToFloat64(m.Jobs.plans.WithLabelValues(EnvInvalid, "changes")); got != 2 {
		t.Errorf("invalid: %v plans, want 2", got)
	}
	// A known environment keeps its own label once the cap is reached.
	m.Jobs.Plan("env-3", "error", time.Second)
	if got := testutil.ToFloat64(m.Jobs.plans.WithLabelValues("env-3", "error")); got != 1 {
		t.Errorf("env-3 errors: %v, want 1", got)
	}
}

func TestApplyCountsChangedObjects(t *testing.T) {
	m := New()
	m.Jobs.Apply("staging", "deploy", "success", 3*time.Second, map[string]int{"created": 2, "configured": 1, "unchanged": 7, "failed": 0})
	m.Jobs.Apply("staging", "apply", "failure", time.Second, map[string]int{"deleted": 1, "failed": 1})
	for _, c := range []struct {
		action string
		want   float64
	}{{"created", 2}, {"configured", 1}, {"deleted", 1}} {
		if got := testutil.ToFloat64(m.Jobs.objects.WithLabelValues("staging", c.action)); got != c.want {
			t.Errorf("%s: %v, want %v", c.action, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.Jobs.objects); n != 3 {
		t.Errorf("%d object series, want created, configured, deleted only", n)
	}
	if got := testutil.ToFloat64(m.Jobs.applies.WithLabelValues("staging", "apply", "failure")); got != 1 {
		t.Errorf("failed applies: %v, want 1", got)
	}
}

// The oldest undeployed merge is the longest any repository's environment
// has been behind; an environment that caught up reads 0.
func TestUndeployedMergeAge(t *testing.T) {
	u := newUndeployed()
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	u.set("acme/shop", "staging", true, t0)
	u.set("acme/shop", "staging", true, t0.Add(time.Minute)) // still the first time
	u.set("acme/web", "staging", true, t0.Add(5*time.Minute))
	u.set("acme/shop", "production", true, t0)
	u.set("acme/shop", "production", false, t0.Add(time.Minute))
	u.now = func() time.Time { return t0.Add(10 * time.Minute) }
	want := `
# HELP slipway_undeployed_merge_age_seconds Age of the oldest change on a default branch that an on-merge environment does not run yet (0: up to date), by environment, over every repository; from when this replica first saw it behind.
# TYPE slipway_undeployed_merge_age_seconds gauge
slipway_undeployed_merge_age_seconds{environment="production"} 0
slipway_undeployed_merge_age_seconds{environment="staging"} 600
`
	if err := testutil.CollectAndCompare(u, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// Behind again after catching up starts a new wait.
	u.set("acme/shop", "production", true, t0.Add(9*time.Minute))
	want = strings.Replace(want, `"production"} 0`, `"production"} 60`, 1)
	if err := testutil.CollectAndCompare(u, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
