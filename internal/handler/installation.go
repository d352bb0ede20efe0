// Package handler turns GitHub webhook deliveries into work, one file per
// event. Handlers parse, add logging context and delegate; they hold no
// business rules.
package handler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/logging"
)

// Installation logs installations and the repositories they grant, and
// checks that slipway can act for them: a wrong private key or App ID shows
// up here, at install time, rather than at the first pull request.
type Installation struct {
	Clients githubapp.ClientCreator
}

// Handles implements githubapp.EventHandler.
func (h *Installation) Handles() []string {
	return []string{"installation", "installation_repositories"}
}

// Handle implements githubapp.EventHandler.
func (h *Installation) Handle(ctx context.Context, eventType, _ string, payload []byte) error {
	var (
		action  string
		inst    *github.Installation
		added   []*github.Repository
		removed []*github.Repository
	)
	switch eventType {
	case "installation":
		var ev github.InstallationEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return fmt.Errorf("parse installation event: %w", err)
		}
		action, inst, added = ev.GetAction(), ev.GetInstallation(), ev.Repositories
	default:
		var ev github.InstallationRepositoriesEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return fmt.Errorf("parse installation_repositories event: %w", err)
		}
		action, inst, added, removed = ev.GetAction(), ev.GetInstallation(), ev.RepositoriesAdded, ev.RepositoriesRemoved
	}

	logger := zerolog.Ctx(ctx).With().
		Int64(logging.FieldInstallation, inst.GetID()).
		Str("account", inst.GetAccount().GetLogin()).
		Str("action", action).
		Strs("repositories_added", repoNames(added)).
		Strs("repositories_removed", repoNames(removed)).
		Logger()
	logger.Info().Msg("installation changed")

	if action == "deleted" || action == "suspend" {
		return nil
	}
	return h.checkAccess(logger.WithContext(ctx), inst.GetID())
}

// checkAccess exchanges the App's JWT for an installation token and lists
// the repositories it reaches.
func (h *Installation) checkAccess(ctx context.Context, installationID int64) error {
	client, err := h.Clients.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("installation %d: build client: %w", installationID, err)
	}
	repos, _, err := client.Apps.ListRepos(ctx, &github.ListOptions{PerPage: 100})
	if err != nil {
		return fmt.Errorf("installation %d: cannot act as this installation (check github.app.integration_id and the private key): %w", installationID, err)
	}
	zerolog.Ctx(ctx).Info().Int("repositories", repos.GetTotalCount()).Msg("installation reachable")
	return nil
}

func repoNames(repos []*github.Repository) []string {
	names := make([]string, 0, len(repos))
	for _, r := range repos {
		names = append(names, r.GetFullName())
	}
	return names
}
