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

// PullRequestReview re-evaluates the policy checks when a review is
// submitted or dismissed: approvals are part of every environment's policy.
type PullRequestReview struct{ *Deps }

// Handles implements githubapp.EventHandler.
func (h *PullRequestReview) Handles() []string { return []string{"pull_request_review"} }

// Handle implements githubapp.EventHandler.
func (h *PullRequestReview) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.PullRequestReviewEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse pull_request_review event: %w", err)
	}
	switch ev.GetAction() {
	case "submitted", "dismissed":
	default:
		return nil
	}
	repo, number := ev.GetRepo(), ev.GetPullRequest().GetNumber()
	ctx, log := logging.Repo(ctx, ev.GetInstallation().GetID(), repo.GetFullName(), number)
	log.Info().Str("action", ev.GetAction()).Str("state", ev.GetReview().GetState()).
		Str("reviewer", ev.GetReview().GetUser().GetLogin()).Msg("review changed")
	s, err := h.session(ctx, ev.GetInstallation().GetID(), repo)
	if err != nil {
		return err
	}
	h.submit(ctx, s, number, runqueue.Job{Key: workflow.Key(repo.GetFullName(), number), Coalesce: true}, "policy",
		func(ctx context.Context) error { return s.PolicyPR(ctx, number) })
	return nil
}
