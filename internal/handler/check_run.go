package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/logging"
	"github.com/slipwayhq/slipway/internal/runqueue"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// CheckRun re-plans an environment when someone presses "Re-run" on its
// slipway/plan check, and re-weighs its policy on "Re-run" of slipway/policy.
type CheckRun struct{ *Deps }

// Handles implements githubapp.EventHandler.
func (h *CheckRun) Handles() []string { return []string{"check_run"} }

// Handle implements githubapp.EventHandler.
func (h *CheckRun) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.CheckRunEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse check_run event: %w", err)
	}
	name := ev.GetCheckRun().GetName()
	env, isPlan := strings.CutPrefix(name, "slipway/plan: ")
	isPolicy := strings.HasPrefix(name, "slipway/policy: ")
	if ev.GetAction() != "rerequested" || !(isPlan || isPolicy) || ev.GetCheckRun().GetApp().GetID() != h.Runner.AppID {
		return nil // only slipway's own runs are slipway's to re-run
	}
	repo := ev.GetRepo()
	for _, pr := range ev.GetCheckRun().PullRequests {
		number := pr.GetNumber()
		ctx, log := logging.Repo(ctx, ev.GetInstallation().GetID(), repo.GetFullName(), number)
		s, err := h.session(ctx, ev.GetInstallation().GetID(), repo)
		if err != nil {
			return err
		}
		log.Info().Str("check", name).Msg("check run re-requested")
		if isPolicy {
			h.submit(ctx, s, number, runqueue.Job{Key: workflow.Key(repo.GetFullName(), number), Coalesce: true}, "policy",
				func(ctx context.Context) error { return s.PolicyPR(ctx, number) })
			continue
		}
		h.submit(ctx, s, number, runqueue.Job{Key: workflow.Key(repo.GetFullName(), number), Supersedes: true, Interruptible: true}, "plan",
			func(ctx context.Context) error {
				return s.PlanPR(ctx, workflow.PlanRequest{Number: number, Envs: []string{env}})
			})
	}
	return nil
}
