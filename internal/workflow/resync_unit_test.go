package workflow

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/lock"
)

// Found by the chaos soak (internal/soak, SOAK_SEED=7 with replica kills):
// a replica killed while planning a pull request leaves its plan check runs
// in progress. With several replicas the leader took such runs for work
// still under way for interruptedAfter (30 minutes), so the pull request's
// plan spun, its policy stayed pending and /apply was refused for half an
// hour. A plan's check run now lives under a run of its own (planning):
// once no replica holds it, the resync completes the run as interrupted
// and plans the head again, while a plan that is still running is left
// alone.
func TestResyncFinishesAPlanWhoseReplicaDied(t *testing.T) {
	w := newUnitWorld(t)
	files := map[string]string{".slipway.yaml": "version: 1\nenvironments:\n  - name: staging\n    path: deploy/staging\n    cluster: test\n    namespace: shop\n",
		"deploy/staging/app.yaml": configMap("app", "1")}
	w.commit("base", files)
	w.gh.SetDefaultBranch("main", "base")
	w.commit("head", with(files, map[string]string{"deploy/staging/app.yaml": configMap("app", "2")}))
	w.openUnitPR(7, "alice", "base", "head", "deploy/staging/app.yaml")
	several := func(time.Time) bool { return false } // nothing is old enough to be interrupted by age

	// A replica that is alive is still planning: left alone.
	live := w.gh.AddCheckRun("head", unitApp, gh.CheckRunState{Name: checkPlanPrefix + "staging", Status: "in_progress"})
	_, end, err := w.s.Runs.Begin(t.Context(), planKey(unitRepo, "head", "staging"), "plan")
	if err != nil {
		t.Fatal(err)
	}
	unplanned, err := w.s.Resync(t.Context(), several)
	if err != nil {
		t.Fatal(err)
	}
	if r := runByID(w, "head", live); r.Status != "in_progress" || len(unplanned) != 0 {
		t.Fatalf("a plan still running was completed (%s %s) or planned again (%v)", r.Status, r.Title, unplanned)
	}

	// Its replica dies: nothing holds the plan's run any more.
	end()
	unplanned, err = w.s.Resync(t.Context(), several)
	if err != nil {
		t.Fatal(err)
	}
	if r := runByID(w, "head", live); r.Status != "completed" || r.Conclusion != "failure" || r.Title != interruptedTitle {
		t.Errorf("the dead replica's plan run: %s %s %q, want completed as interrupted", r.Status, r.Conclusion, r.Title)
	}
	if len(unplanned) != 1 || unplanned[0] != 7 {
		t.Errorf("resync returned %v to plan again, want [7]", unplanned)
	}
}

func runByID(w *unitWorld, sha string, id int64) gh.CheckRunState {
	w.t.Helper()
	for _, r := range w.gh.Runs(sha) {
		if r.ID == id {
			return r
		}
	}
	w.t.Fatalf("no check run %d on %s", id, sha)
	return gh.CheckRunState{}
}

// lapsedRuns is Local plus the runs of replicas that died: Lapsed names
// them until Clear, as LeaseRuns does with Leases that expired.
type lapsedRuns struct {
	*lock.Local
	lapsed []lock.Key
}

func (r *lapsedRuns) Lapsed(context.Context, string) ([]lock.Key, error) { return r.lapsed, nil }

func (r *lapsedRuns) Clear(_ context.Context, k lock.Key) error {
	r.lapsed = slices.DeleteFunc(r.lapsed, func(l lock.Key) bool { return l == k })
	return nil
}

// A replica that died planning a head that the pull request has since
// left (a push came first) left that head's plan run spinning, and the
// resync only looked at open heads: the old commit showed slipway
// planning forever. The resync now completes it from the lapsed run, and
// leaves another App's run on that head alone.
func TestResyncFinishesAPlanOnAHeadLeftBehind(t *testing.T) {
	w := newUnitWorld(t)
	runs := &lapsedRuns{Local: lock.NewLocal("unit")}
	w.s.Runs = runs
	files := map[string]string{".slipway.yaml": "version: 1\nenvironments:\n  - name: staging\n    path: deploy/staging\n    cluster: test\n    namespace: shop\n",
		"deploy/staging/app.yaml": configMap("app", "1")}
	w.commit(baseSHA, files)
	w.gh.SetDefaultBranch("main", baseSHA)
	w.commit(head1SHA, with(files, map[string]string{"deploy/staging/app.yaml": configMap("app", "2")}))
	w.commit(head2SHA, with(files, map[string]string{"deploy/staging/app.yaml": configMap("app", "3")}))
	w.openUnitPR(7, "alice", baseSHA, head2SHA, "deploy/staging/app.yaml")
	w.gh.AddCheckRun(head2SHA, unitApp, gh.CheckRunState{Name: checkPlanPrefix + "staging", Status: "completed", Conclusion: "success"})
	never := func(time.Time) bool { return false }

	left := w.gh.AddCheckRun(head1SHA, unitApp, gh.CheckRunState{Name: checkPlanPrefix + "staging", Status: "in_progress"})
	foreign := w.gh.AddCheckRun(head1SHA, unitApp+1, gh.CheckRunState{Name: checkPlanPrefix + "staging", Status: "in_progress"})
	runs.lapsed = []lock.Key{planKey(unitRepo, head1SHA, "staging"), lockKey(unitRepo, "production")}

	unplanned, err := w.s.Resync(t.Context(), never)
	if err != nil {
		t.Fatal(err)
	}
	if r := runByID(w, head1SHA, left); r.Status != "completed" || r.Conclusion != "failure" || r.Title != interruptedTitle {
		t.Errorf("the plan run left on the old head: %s %s %q, want completed as interrupted", r.Status, r.Conclusion, r.Title)
	}
	if r := runByID(w, head1SHA, foreign); r.Status != "in_progress" {
		t.Errorf("another App's run on the old head was completed: %s", r.Status)
	}
	if len(unplanned) != 0 {
		t.Errorf("resync planned %v again; the open head was planned", unplanned)
	}
	if len(runs.lapsed) != 1 || runs.lapsed[0] != lockKey(unitRepo, "production") {
		t.Errorf("lapsed runs after the resync: %v; want the plan's forgotten and the apply's left to its Deployment", runs.lapsed)
	}
}
