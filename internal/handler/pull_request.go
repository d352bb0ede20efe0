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

// PullRequest plans pull requests when they open or move, deploys them
// when they merge, and releases their locks when they close.
type PullRequest struct{ *Deps }

// Handles implements githubapp.EventHandler.
func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle implements githubapp.EventHandler.
func (h *PullRequest) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.PullRequestEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse pull_request event: %w", err)
	}
	repo, number := ev.GetRepo(), ev.GetNumber()
	ctx, log := logging.Repo(ctx, ev.GetInstallation().GetID(), repo.GetFullName(), number)
	key := workflow.Key(repo.GetFullName(), number)

	switch ev.GetAction() {
	case "opened", "reopened", "synchronize", "ready_for_review":
		s, err := h.session(ctx, ev.GetInstallation().GetID(), repo)
		if err != nil {
			return err
		}
		req := workflow.PlanRequest{Number: number, Auto: true}
		if ev.GetAction() != "ready_for_review" {
			// Whoever opened, pushed or reopened the head put it there;
			// marking a draft ready pushes nothing.
			req.Pusher, req.PushedHead = ev.GetSender().GetLogin(), ev.GetPullRequest().GetHead().GetSHA()
		}
		log.Info().Str("action", ev.GetAction()).Str("sha", ev.GetPullRequest().GetHead().GetSHA()).Str("sender", ev.GetSender().GetLogin()).Msg("autoplan")
		h.submit(ctx, s, number, runqueue.Job{Key: key, Supersedes: true, Interruptible: true, Coalesce: true}, "plan",
			func(ctx context.Context) error { return s.PlanPR(ctx, req) })
	case "closed":
		s, err := h.session(ctx, ev.GetInstallation().GetID(), repo)
		if err != nil {
			return err
		}
		if ev.GetPullRequest().GetMerged() {
			// Merges deploy one at a time per repository, in arrival order;
			// the deploy releases the pull request's locks when it is done.
			log.Info().Str("sha", ev.GetPullRequest().GetMergeCommitSHA()).Msg("merged: deploy")
			h.submit(ctx, s, number, runqueue.Job{Key: workflow.DeployKey(repo.GetFullName())}, "deploy", func(ctx context.Context) error {
				return s.DeployMerged(ctx, number)
			})
			return nil
		}
		h.submit(ctx, s, number, runqueue.Job{Key: key, Supersedes: true}, "close", func(ctx context.Context) error {
			return s.Closed(ctx, number)
		})
	}
	return nil
}
