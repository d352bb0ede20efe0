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

// Push wakes the deploy loop when the default branch moves (a merge or a
// direct push); pushes to other branches deploy nothing.
type Push struct{ *Deps }

// Handles implements githubapp.EventHandler.
func (h *Push) Handles() []string { return []string{"push"} }

// Handle implements githubapp.EventHandler.
func (h *Push) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.PushEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse push event: %w", err)
	}
	repo := ev.GetRepo()
	branch, ok := strings.CutPrefix(ev.GetRef(), "refs/heads/")
	if !ok || branch != repo.GetDefaultBranch() || ev.GetDeleted() {
		return nil
	}
	ctx, log := logging.Repo(ctx, ev.GetInstallation().GetID(), repo.GetFullName(), 0)
	owner := repo.GetOwner().GetLogin()
	if owner == "" {
		owner = repo.GetOwner().GetName() // push payloads name the owner both ways
	}
	target := &github.Repository{Name: repo.Name, Owner: &github.User{Login: github.String(owner)}}
	s, err := h.session(ctx, ev.GetInstallation().GetID(), target)
	if err != nil {
		return err
	}
	log.Info().Str("sha", ev.GetAfter()).Msg("push to the default branch")
	h.submit(ctx, s, 0, runqueue.Job{Key: workflow.DeployKey(repo.GetFullName())}, "deploy", s.DeployPush)
	return nil
}
