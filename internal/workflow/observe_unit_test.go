package workflow

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
)

// recorder is an Observer that keeps what it hears.
type recorder struct {
	mu     sync.Mutex
	events []Event
	behind map[string]bool // env -> last Undeployed
}

func (r *recorder) Observe(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) Undeployed(repo, env string, behind bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.behind == nil {
		r.behind = map[string]bool{}
	}
	r.behind[repo+" "+env] = behind
}

// A merge reports one deploy event per environment it started, with its
// outcome, commit and pull request, and which environments are left
// behind the default branch: the failed one and those it stopped.
func TestUnitObserveDeploy(t *testing.T) {
	for _, tt := range []struct {
		name     string
		fail     string
		outcomes map[string]string
		behind   map[string]bool
	}{
		{name: "all succeed",
			outcomes: map[string]string{"staging": OutcomeSuccess, "production": OutcomeSuccess, "docs": OutcomeSuccess},
			behind:   map[string]bool{"acme/shop staging": false, "acme/shop production": false, "acme/shop docs": false}},
		{name: "staging fails", fail: "staging",
			outcomes: map[string]string{"staging": OutcomeFailure},
			behind:   map[string]bool{"acme/shop staging": true, "acme/shop production": true, "acme/shop docs": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newUnitWorld(t)
			rec := &recorder{}
			w.s.Observer = rec
			base := map[string]string{".slipway.yaml": chainConfig, "deploy/staging/a.yaml": configMap("a", "v1"),
				"deploy/production/a.yaml": configMap("a", "v1"), "deploy/docs/a.yaml": configMap("a", "v1")}
			changed := []string{"deploy/docs/a.yaml", "deploy/production/a.yaml", "deploy/staging/a.yaml"}
			merged := with(base, nil)
			for _, f := range changed {
				merged[f] = configMap("a", "v2")
			}
			w.mergedPR(base, merged, changed)
			if tt.fail != "" {
				w.cluster.fail[tt.fail] = "the cluster said no"
			}
			if err := w.s.DeployMerged(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range rec.events {
				if e.Kind != KindDeploy || e.Repo != "acme/shop" || e.Commit != mergeSHA || e.PR != 1 || e.CheckURL == "" {
					t.Errorf("event %+v, want a deploy of acme/shop #1 at the merge commit with its check run", e)
				}
				got[e.Env] = e.Outcome
			}
			if !maps.Equal(got, tt.outcomes) {
				t.Errorf("outcomes %v, want %v", got, tt.outcomes)
			}
			if !maps.Equal(rec.behind, tt.behind) {
				t.Errorf("behind %v, want %v", rec.behind, tt.behind)
			}
			// The next pass finds the succeeded ones at the head: no new
			// deploy, and still nothing behind.
			rec.events = nil
			if err := w.s.DeployPush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.fail == "" && (len(rec.events) != 0 || slices.Contains(slices.Collect(maps.Values(rec.behind)), true)) {
				t.Errorf("a pass with nothing to do: events %+v, behind %v", rec.events, rec.behind)
			}
		})
	}
}

// A drift check reports its outcome each pass; the second finding the
// same drift on the same commit is a repeat, with the check run's link.
func TestUnitObserveDrift(t *testing.T) {
	w := newUnitWorld(t)
	rec := &recorder{}
	w.s.Observer = rec
	w.commit(baseSHA, map[string]string{".slipway.yaml": "version: 1\nenvironments:\n  - name: staging\n    path: deploy/staging\n    cluster: test\n",
		"deploy/staging/a.yaml": configMap("a", "v1")})
	w.gh.SetDefaultBranch("main", baseSHA)
	for range 2 {
		if err := w.s.Drift(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.events) != 2 {
		t.Fatalf("events %+v, want two drift checks", rec.events)
	}
	first, second := rec.events[0], rec.events[1]
	if first.Kind != KindDrift || first.Outcome != OutcomeDrifted || first.Repeat || first.Env != "staging" || first.Commit != baseSHA || first.Summary != "+1" {
		t.Errorf("first check %+v, want news of drift +1 in staging", first)
	}
	if !second.Repeat || second.Outcome != OutcomeDrifted || second.CheckURL == "" {
		t.Errorf("second check %+v, want a repeat with the check run's link", second)
	}
}
