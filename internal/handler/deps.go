package handler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/publish"
	"github.com/slipwayhq/slipway/internal/gh/source"
	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/runqueue"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Deps is what the pull-request handlers share: clients, the workflow
// runner and the per-pull-request run queue.
type Deps struct {
	Clients githubapp.ClientCreator
	Runner  *workflow.Runner
	Queue   *runqueue.Queue
	Source  source.Options
	// Panics counts the queued jobs that panicked; nil counts nothing.
	Panics prometheus.Counter

	// Slug is the App's slug, shared with whatever else asks for it; nil
	// asks through Clients.
	Slug *gh.AppSlug

	slugOnce sync.Once
}

// AppSlug is the App's slug, asked of GitHub once.
func (d *Deps) AppSlug(ctx context.Context) (string, error) {
	d.slugOnce.Do(func() {
		if d.Slug == nil {
			d.Slug = gh.NewAppSlug(d.Clients)
		}
	})
	return d.Slug.Get(ctx)
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
		GitHub: gh.New(client),
		Source: source.NewFetcher(client, d.Source),
		Repo:   gh.Repo{Owner: repo.GetOwner().GetLogin(), Name: repo.GetName()},
	}, nil
}

// submit queues work for pull request number of s's repository (0: none),
// carrying the event's logger. A panic in work is logged with its stack,
// counted and told to the pull request; the queue goes on.
func (d *Deps) submit(ctx context.Context, s *workflow.Session, number int, job runqueue.Job, what string, work func(context.Context) error) {
	logger := *zerolog.Ctx(ctx)
	delivery := deliveryOf(ctx)
	job.Run = func(ctx context.Context) {
		ctx = logger.WithContext(ctx)
		err := recovery.Call(func() error { return work(ctx) })
		var p *recovery.Panic
		switch {
		case errors.As(err, &p):
			d.jobPanicked(ctx, s, number, what, delivery, p)
		case err != nil && errors.Is(context.Cause(ctx), runqueue.ErrSuperseded):
			logger.Info().Msg(what + " superseded by newer work")
		case err != nil:
			logger.Error().Err(err).Msg(what + " failed")
		}
	}
	d.Queue.Submit(job)
}

func (d *Deps) jobPanicked(ctx context.Context, s *workflow.Session, number int, what, delivery string, p *recovery.Panic) {
	logPanic(ctx, p, "job "+what)
	if d.Panics != nil {
		d.Panics.Inc()
	}
	if number == 0 {
		return // a push to the default branch: no pull request to tell
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	err := recovery.Call(func() error {
		return publish.InternalError(ctx, s.GitHub, s.Repo, number, s.Bot, what, delivery)
	})
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("could not tell the pull request about the internal error")
	}
}
