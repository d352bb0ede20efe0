package handler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/logging"
)

// PullRequestReview notes reviews submitted or dismissed. Reviews change
// whether an environment's policy holds; the policy check that re-evaluates
// on them is not built yet, so this handler only records the event.
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
		_, log := logging.Repo(ctx, ev.GetInstallation().GetID(), ev.GetRepo().GetFullName(), ev.GetPullRequest().GetNumber())
		log.Info().Str("action", ev.GetAction()).Str("state", ev.GetReview().GetState()).
			Str("reviewer", ev.GetReview().GetUser().GetLogin()).Msg("review changed")
	}
	return nil
}
