package gh

import (
	"context"
	"fmt"
	"sync"

	"github.com/palantir/go-githubapp/githubapp"
)

// AppSlug is the App's slug (its bot is slug+"[bot]"), asked of GitHub
// once and remembered: it does not change while the App exists. A failed
// ask is not remembered.
type AppSlug struct {
	clients githubapp.ClientCreator
	mu      sync.Mutex
	slug    string
}

// NewAppSlug asks through clients' App client.
func NewAppSlug(clients githubapp.ClientCreator) *AppSlug { return &AppSlug{clients: clients} }

// Get returns the slug, asking GitHub the first time.
func (a *AppSlug) Get(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.slug != "" {
		return a.slug, nil
	}
	client, err := a.clients.NewAppClient()
	if err != nil {
		return "", fmt.Errorf("get the App's slug: %w", err)
	}
	app, _, err := client.Apps.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("get the App's slug: %w", err)
	}
	a.slug = app.GetSlug()
	return a.slug, nil
}
