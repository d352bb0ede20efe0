package handler

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/logging"
	"github.com/slipwayhq/slipway/internal/runqueue"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Resync is the periodic, level-triggered pass over every repository of
// every installation: it completes what a stopped process left in progress,
// queues a plan for each open pull request whose head has none, and queues
// the deploy loop's pass (on-merge environments converge on the default
// branch), so a lost webhook, a failed start or a crash heals by itself.
func (d *Deps) Resync(ctx context.Context, interrupted workflow.Interrupted) error {
	return d.eachRepo(ctx, func(ctx context.Context, s *workflow.Session, full string) {
		unplanned, err := s.Resync(ctx, interrupted)
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Msg("resync")
		}
		d.submit(ctx, s, 0, runqueue.Job{Key: workflow.DeployKey(full)}, "converge", func(ctx context.Context) error {
			return s.Converge(ctx, 0)
		})
		for _, n := range unplanned {
			d.submit(ctx, s, n, runqueue.Job{Key: workflow.Key(full, n), Interruptible: true, Coalesce: true}, "plan", func(ctx context.Context) error {
				return s.PlanUnplanned(ctx, n)
			})
		}
	})
}

// Drift queues a drift check of every repository, behind its deploys.
func (d *Deps) Drift(ctx context.Context) error {
	return d.eachRepo(ctx, func(ctx context.Context, s *workflow.Session, full string) {
		d.submit(ctx, s, 0, runqueue.Job{Key: workflow.DeployKey(full), Coalesce: true}, "drift", s.Drift)
	})
}

// eachRepo calls fn with a session for every repository the App is
// installed on. An installation that fails is logged and skipped.
func (d *Deps) eachRepo(ctx context.Context, fn func(ctx context.Context, s *workflow.Session, full string)) error {
	app, err := d.Clients.NewAppClient()
	if err != nil {
		return fmt.Errorf("app client: %w", err)
	}
	opts := &github.ListOptions{PerPage: 100}
	for {
		installs, res, err := app.Apps.ListInstallations(ctx, opts)
		if err != nil {
			return fmt.Errorf("list installations: %w", err)
		}
		for _, in := range installs {
			if err := d.eachInstallationRepo(ctx, in.GetID(), fn); err != nil {
				zerolog.Ctx(ctx).Error().Err(err).Int64("installation", in.GetID()).Msg("list repositories")
			}
		}
		if res.NextPage == 0 || ctx.Err() != nil {
			return ctx.Err()
		}
		opts.Page = res.NextPage
	}
}

func (d *Deps) eachInstallationRepo(ctx context.Context, id int64, fn func(ctx context.Context, s *workflow.Session, full string)) error {
	client, err := d.Clients.NewInstallationClient(id)
	if err != nil {
		return err
	}
	opts := &github.ListOptions{PerPage: 100}
	for {
		repos, res, err := client.Apps.ListRepos(ctx, opts)
		if err != nil {
			return err
		}
		for _, repo := range repos.Repositories {
			if repo.GetArchived() || ctx.Err() != nil {
				continue
			}
			rctx, _ := logging.Repo(ctx, id, repo.GetFullName(), 0)
			s, err := d.session(rctx, id, repo)
			if err != nil {
				return err
			}
			fn(rctx, s, repo.GetFullName())
		}
		if res.NextPage == 0 || ctx.Err() != nil {
			return ctx.Err()
		}
		opts.Page = res.NextPage
	}
}
