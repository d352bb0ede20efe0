package workflow

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/gh"
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
