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

// IssueComment turns pull request comments into commands.
type IssueComment struct{ *Deps }

// Handles implements githubapp.EventHandler.
func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

// Handle implements githubapp.EventHandler. Edited and deleted comments,
// comments on issues and comments by bots (slipway's own included) are
// ignored.
func (h *IssueComment) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.IssueCommentEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse issue_comment event: %w", err)
	}
	// IsPullRequest, unlike the getters, panics on a payload without issue.
	if ev.GetAction() != "created" || ev.GetIssue() == nil || !ev.GetIssue().IsPullRequest() || ev.GetComment().GetUser().GetType() == "Bot" || ev.GetSender().GetType() == "Bot" {
		return nil
	}
	repo, number := ev.GetRepo(), ev.GetIssue().GetNumber()
	ctx, _ = logging.Repo(ctx, ev.GetInstallation().GetID(), repo.GetFullName(), number)
	s, err := h.session(ctx, ev.GetInstallation().GetID(), repo)
	if err != nil {
		return err
	}
	slug, err := h.AppSlug(ctx)
	if err != nil {
		return err
	}
	work, err := s.Comment(ctx, workflow.CommentRequest{
		Number:    number,
		CommentID: ev.GetComment().GetID(),
		User:      ev.GetComment().GetUser().GetLogin(),
		Body:      ev.GetComment().GetBody(),
		AppSlug:   slug,
	})
	if err != nil || work == nil {
		return err
	}
	h.submit(ctx, s, number, commandJob(workflow.Key(repo.GetFullName(), number), work), work.What, work.Run)
	return nil
}

// commandJob is how a command's work is queued on its pull request's key.
// Every command supersedes: it cuts short a running plan it makes stale.
// A plan or an unlock may itself be cut short by newer work; an apply may
// not: half-applied objects and a skipped prune are worse than any wait,
// so a push, a /plan or a close that arrives meanwhile queues behind it.
func commandJob(key string, work *workflow.Work) runqueue.Job {
	return runqueue.Job{Key: key, Supersedes: true, Interruptible: !work.Applies}
}
