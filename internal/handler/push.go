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

// GitHub lists at most this many commits in a push event.
const pushEventCommits = 20

// Push reconciles the default branch after a push that no pull request
// explains (a direct push); merges deploy through their pull request.
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
	changed, complete := pushedFiles(&ev)
	owner := repo.GetOwner().GetLogin()
	if owner == "" {
		owner = repo.GetOwner().GetName() // push payloads name the owner both ways
	}
	target := &github.Repository{Name: repo.Name, Owner: &github.User{Login: github.String(owner)}}
	s, err := h.session(ctx, ev.GetInstallation().GetID(), target)
	if err != nil {
		return err
	}
	before, after := ev.GetBefore(), ev.GetAfter()
	log.Info().Str("sha", after).Int("files", len(changed)).Msg("push to the default branch")
	h.submit(ctx, s, 0, runqueue.Job{Key: workflow.DeployKey(repo.GetFullName())}, "deploy", func(ctx context.Context) error {
		return s.DeployPush(ctx, before, after, changed, complete)
	})
	return nil
}

// pushedFiles lists the files a push changed; complete is false when the
// event cannot say (too many commits, a forced push, a new branch).
func pushedFiles(ev *github.PushEvent) (files []string, complete bool) {
	if ev.GetForced() || ev.GetCreated() || len(ev.Commits) >= pushEventCommits {
		return nil, false
	}
	seen := map[string]bool{}
	for _, c := range ev.Commits {
		if c == nil {
			return nil, false // a malformed payload: the event cannot say
		}
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, f := range list {
				if !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
			}
		}
	}
	return files, true
}
