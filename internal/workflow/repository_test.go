package workflow

import (
	"context"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// repoRecorder is an Applier that notes which repository each plan was for.
type repoRecorder struct {
	fakeApplier
	planned []string
}

func (r *repoRecorder) Compute(_ context.Context, env *repoconfig.Environment, b plan.Basis, _ *render.Result) (*plan.Plan, error) {
	r.planned = append(r.planned, b.Repository)
	return &plan.Plan{Repository: b.Repository, Environment: env.Name, Commit: b.Commit}, nil
}

// A session's plans and applies are its repository's: the cluster target
// keys the environment's inventory by it, so the repository must reach it.
func TestPlansAndAppliesCarryTheRepository(t *testing.T) {
	tree, cfg := applyRepo(t)
	s := &Session{Runner: &Runner{}, Repo: gh.Repo{Owner: "acme", Name: "shop"}}
	target := &repoRecorder{fakeApplier: fakeApplier{digest: digestNow}}
	ctx := context.Background()

	if _, err := PlanEnvironment(ctx, tree, cfg, "staging", "abc", oneTarget{target}, s.planOptions()); err != nil {
		t.Fatal(err)
	}
	if len(target.planned) != 1 || target.planned[0] != "acme/shop" {
		t.Errorf("planned for %q, want acme/shop", target.planned)
	}
	pa, err := PrepareApply(ctx, tree, cfg, "staging", "abc", oneTarget{target}, s.planOptions())
	if err != nil {
		t.Fatal(err)
	}
	if pa.Plan.Repository != "acme/shop" {
		t.Errorf("apply planned for %q, want acme/shop", pa.Plan.Repository)
	}
}
