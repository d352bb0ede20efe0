package handler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/ghport"
	"github.com/slipwayhq/slipway/internal/runqueue"
	"github.com/slipwayhq/slipway/internal/source"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Deps is what the pull-request handlers share: clients, the workflow
// runner and the per-pull-request run queue.
type Deps struct {
	Clients githubapp.ClientCreator
	Runner  *workflow.Runner
	Queue   *runqueue.Queue
	Source  source.Options

	mu   sync.Mutex
	slug string
}

// AppSlug is the App's slug, asked of GitHub once.
func (d *Deps) AppSlug(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.slug != "" {
		return d.slug, nil
	}
	client, err := d.Clients.NewAppClient()
	if err != nil {
		return "", err
	}
	app, _, err := client.Apps.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("get the App's slug: %w", err)
	}
	d.slug = app.GetSlug()
	return d.slug, nil
}

// session binds the workflow to the installation and repository of an event.
func (d *Deps) session(ctx context.Context, installationID int64, repo *github.Repository) (*workflow.Session, error) {
	slug, err := d.AppSlug(ctx)
	if err != nil {
		return nil, err
	}
	client, err := d.Clients.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("installation %d client: %w", installationID, err)
	}
	runner := *d.Runner
	runner.Bot = slug + "[bot]"
	return &workflow.Session{
		Runner: &runner,
		GitHub: ghport.New(client),
		Source: source.NewFetcher(client, d.Source),
		Repo:   ghport.Repo{Owner: repo.GetOwner().GetLogin(), Name: repo.GetName()},
	}, nil
}

// submit queues work for a pull request, carrying the event's logger.
func (d *Deps) submit(ctx context.Context, job runqueue.Job, what string, work func(context.Context) error) {
	logger := *zerolog.Ctx(ctx)
	job.Run = func(ctx context.Context) {
		ctx = logger.WithContext(ctx)
		err := work(ctx)
		switch {
		case err != nil && errors.Is(context.Cause(ctx), runqueue.ErrSuperseded):
			logger.Info().Msg(what + " superseded by newer work")
		case err != nil:
			logger.Error().Err(err).Msg(what + " failed")
		}
	}
	d.Queue.Submit(job)
}
