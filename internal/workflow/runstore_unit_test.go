package workflow

import (
	"context"
	"errors"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/lock"
)

// downRuns is a run store whose API server cannot be reached.
type downRuns struct{ lock.Runs }

func (downRuns) Begin(context.Context, lock.Key, string) (context.Context, func(), error) {
	return nil, nil, errors.New("run of docs: lease: connection refused")
}

// Found by the chaos soak (internal/soak, SOAK_SEED=8190985009634972842,
// an API server outage during a push to main): a deploy pass that could not
// reach the API server to mark its apply as running took that for a
// refusal of the head and recorded a failed Deployment there, so the loop
// never deployed that head again (a failed head waits for a new commit),
// and the leader's resync raced to mark the same record "interrupted".
// Now nothing is recorded, and the next pass deploys.
func TestUnitDeployRetriesWhenTheRunStoreIsDown(t *testing.T) {
	w := newUnitWorld(t)
	ctx := context.Background()
	base := map[string]string{".slipway.yaml": chainConfig, "deploy/docs/a.yaml": configMap("a", "v1"),
		"deploy/staging/a.yaml": configMap("a", "v1"), "deploy/production/a.yaml": configMap("a", "v1")}
	w.commit(baseSHA, base)
	w.commit(mergeSHA, with(base, map[string]string{"deploy/docs/a.yaml": configMap("a", "v2")}))
	w.gh.SetDefaultBranch("main", mergeSHA)
	w.gh.SetParent(mergeSHA, baseSHA)
	w.gh.SetCompare(baseSHA, mergeSHA, gh.Comparison{Status: "ahead", Files: []string{"deploy/docs/a.yaml"}, Complete: true})

	up := w.s.Runs
	w.s.Runs = downRuns{}
	if err := w.s.Converge(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if d := w.gh.Deployments(); len(d) != 0 {
		t.Fatalf("with the run store down, %d Deployments were recorded (%+v), want none", len(d), d)
	}
	w.s.Runs = up
	if err := w.s.Converge(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := w.cluster.appliedEnvs(); len(got) != 1 || got[0] != "docs" {
		t.Errorf("the next pass applied %v, want [docs]", got)
	}
}
