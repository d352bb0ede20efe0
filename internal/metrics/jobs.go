package metrics

import (
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxEnvironments bounds the environment label: environment names come
// from repositories' .slipway.yaml, which anyone with write access to a
// repository edits, so beyond this many distinct names the rest are
// counted as "other" rather than growing the series without end.
const MaxEnvironments = 100

// Environment label values that are not an environment's name.
const (
	EnvOther   = "other"   // past MaxEnvironments
	EnvInvalid = "invalid" // not an environment name at all
)

// envName is .slipway.yaml's rule for environment names.
var envName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// envLabels hands out the environment label values, at most max of them.
type envLabels struct {
	max  int
	mu   sync.Mutex
	seen map[string]bool
}

func (l *envLabels) label(env string) string {
	if !envName.MatchString(env) {
		return EnvInvalid
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[env] {
		return env
	}
	if len(l.seen) >= l.max {
		return EnvOther
	}
	l.seen[env] = true
	return env
}

// Jobs are the metrics about slipway's work: plans, applies, drift checks,
// the objects they change, environment locks, and merges not yet deployed.
type Jobs struct {
	envs *envLabels

	plans        *prometheus.CounterVec
	planDuration *prometheus.HistogramVec
	applies      *prometheus.CounterVec
	applyTime    *prometheus.HistogramVec
	drift        *prometheus.CounterVec
	objects      *prometheus.CounterVec
	locks        *prometheus.CounterVec
	lockHeld     *prometheus.HistogramVec
	undeployed   *undeployed
}

// jobBuckets span a quick plan to an apply's health wait.
var jobBuckets = []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

// lockBuckets span a lock taken and released at once to one held for weeks.
var lockBuckets = []float64{60, 600, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600, 30 * 24 * 3600}

func newJobs(maxEnvs int) *Jobs {
	return &Jobs{
		envs: &envLabels{max: maxEnvs, seen: map[string]bool{}},
		plans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_plans_total",
			Help: "Plans of a pull request's environment, by environment and outcome (changes, no_changes, error, cancelled).",
		}, []string{"environment", "outcome"}),
		planDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slipway_plan_duration_seconds",
			Help:    "Time to render and dry-run one environment of a pull request, by environment.",
			Buckets: jobBuckets,
		}, []string{"environment"}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_applies_total",
			Help: "Changes made to a cluster, by environment, kind (apply, deploy, rollback, reconcile) and outcome (success, failure, error, refused).",
		}, []string{"environment", "kind", "outcome"}),
		applyTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slipway_apply_duration_seconds",
			Help:    "Time from the re-plan to the end of the health wait of one apply, by environment and kind.",
			Buckets: jobBuckets,
		}, []string{"environment", "kind"}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_drift_checks_total",
			Help: "Drift checks of an environment against its default branch, by environment and outcome (in_sync, drifted, error).",
		}, []string{"environment", "outcome"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_objects_changed_total",
			Help: "Objects applies created, configured or deleted, by environment and action.",
		}, []string{"environment", "action"}),
		locks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_locks_taken_total",
			Help: "Environment locks a pull request took, by environment.",
		}, []string{"environment"}),
		lockHeld: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slipway_lock_held_seconds",
			Help:    "How long a pull request held an environment lock, observed when it was released, by environment.",
			Buckets: lockBuckets,
		}, []string{"environment"}),
		undeployed: newUndeployed(),
	}
}

func (j *Jobs) collectors() []prometheus.Collector {
	return []prometheus.Collector{j.plans, j.planDuration, j.applies, j.applyTime, j.drift, j.objects, j.locks, j.lockHeld, j.undeployed}
}

// Plan counts one plan of env.
func (j *Jobs) Plan(env, outcome string, took time.Duration) {
	e := j.envs.label(env)
	j.plans.WithLabelValues(e, outcome).Inc()
	j.planDuration.WithLabelValues(e).Observe(took.Seconds())
}

// Apply counts one apply of env of a kind, and the objects it changed by
// action (created, configured, adopted, deleted; other outcomes are not
// changes).
func (j *Jobs) Apply(env, kind, outcome string, took time.Duration, changed map[string]int) {
	e := j.envs.label(env)
	j.applies.WithLabelValues(e, kind, outcome).Inc()
	j.applyTime.WithLabelValues(e, kind).Observe(took.Seconds())
	for _, action := range []string{"created", "configured", "adopted", "deleted"} {
		if n := changed[action]; n > 0 {
			j.objects.WithLabelValues(e, action).Add(float64(n))
		}
	}
}

// Drift counts one drift check of env.
func (j *Jobs) Drift(env, outcome string) {
	j.drift.WithLabelValues(j.envs.label(env), outcome).Inc()
}

// LockTaken counts a lock on env that a pull request took.
func (j *Jobs) LockTaken(env string) {
	j.locks.WithLabelValues(j.envs.label(env)).Inc()
}

// LockReleased observes how long a lock on env was held.
func (j *Jobs) LockReleased(env string, held time.Duration) {
	j.lockHeld.WithLabelValues(j.envs.label(env)).Observe(held.Seconds())
}

// Undeployed marks repo's env as behind its default branch since now (if
// not already behind) or caught up.
func (j *Jobs) Undeployed(repo, env string, behind bool) {
	j.undeployed.set(repo, j.envs.label(env), behind, time.Now())
}

// undeployed reports, per environment, how long the oldest merge not yet
// deployed to it has waited: over every repository, since this replica
// first saw it behind.
type undeployed struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	// since holds repo+" "+env -> when it was first seen behind.
	since map[[2]string]time.Time
	now   func() time.Time
}

func newUndeployed() *undeployed {
	return &undeployed{
		desc: prometheus.NewDesc("slipway_undeployed_merge_age_seconds",
			"Age of the oldest change on a default branch that an on-merge environment does not run yet (0: up to date), by environment, over every repository; from when this replica first saw it behind.",
			[]string{"environment"}, nil),
		since: map[[2]string]time.Time{},
		now:   time.Now,
	}
}

func (u *undeployed) set(repo, env string, behind bool, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := [2]string{repo, env}
	switch t, ok := u.since[k]; {
	case behind && (!ok || t.IsZero()):
		u.since[k] = now
	case !behind:
		// Kept as zero: the environment is known and up to date.
		u.since[k] = time.Time{}
	}
}

func (u *undeployed) Describe(ch chan<- *prometheus.Desc) { ch <- u.desc }

func (u *undeployed) Collect(ch chan<- prometheus.Metric) {
	u.mu.Lock()
	oldest := map[string]float64{}
	now := u.now()
	for k, t := range u.since {
		age := 0.0
		if !t.IsZero() {
			age = now.Sub(t).Seconds()
		}
		oldest[k[1]] = max(oldest[k[1]], age)
	}
	u.mu.Unlock()
	for env, age := range oldest {
		ch <- prometheus.MustNewConstMetric(u.desc, prometheus.GaugeValue, age, env)
	}
}
