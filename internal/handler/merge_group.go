package handler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/logging"
	"github.com/slipwayhq/slipway/internal/runqueue"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// MergeGroup checks a merge queue's candidate commit when GitHub asks for
// its required checks (checks_requested).
type MergeGroup struct{ *Deps }

// Handles implements githubapp.EventHandler.
func (h *MergeGroup) Handles() []string { return []string{"merge_group"} }

// Handle implements githubapp.EventHandler.
func (h *MergeGroup) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.MergeGroupEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse merge_group event: %w", err)
	}
	g := ev.GetMergeGroup()
	if ev.GetAction() != "checks_requested" || g.GetHeadSHA() == "" {
		return nil
	}
	repo := ev.GetRepo()
	ctx, log := logging.Repo(ctx, ev.GetInstallation().GetID(), repo.GetFullName(), 0)
	s, err := h.session(ctx, ev.GetInstallation().GetID(), repo)
	if err != nil {
		return err
	}
	group := workflow.MergeGroup{HeadSHA: g.GetHeadSHA(), BaseSHA: g.GetBaseSHA(), BaseRef: g.GetBaseRef()}
	log.Info().Str("sha", group.HeadSHA).Str("head_ref", g.GetHeadRef()).Msg("merge group checks requested")
	h.submit(ctx, s, 0, runqueue.Job{Key: workflow.GroupKey(repo.GetFullName(), group.HeadSHA), Interruptible: true, Coalesce: true}, "merge group",
		func(ctx context.Context) error { return s.CheckMergeGroup(ctx, group) })
	return nil
}
