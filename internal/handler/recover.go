package handler

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/publish"
	"github.com/slipwayhq/slipway/internal/recovery"
)

// reportTimeout bounds telling a pull request about a panic: the notice
// must not hold a worker for long.
const reportTimeout = 30 * time.Second

// Recovering wraps h so that a panic in it costs one delivery, not the
// server: it is logged with its stack, counted in panics, told to the pull
// request the delivery is about, and returned as a *recovery.Panic. slug
// (nil: asked through clients) names slipway's comments.
func Recovering(h githubapp.EventHandler, clients githubapp.ClientCreator, slug *gh.AppSlug, panics prometheus.Counter) githubapp.EventHandler {
	if slug == nil {
		slug = gh.NewAppSlug(clients)
	}
	return &recovering{EventHandler: h, clients: clients, slug: slug, panics: panics}
}

type recovering struct {
	githubapp.EventHandler
	clients githubapp.ClientCreator
	slug    *gh.AppSlug
	panics  prometheus.Counter
}

// Handle implements githubapp.EventHandler.
func (r *recovering) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	ctx = withDelivery(ctx, deliveryID)
	err := recovery.Call(func() error { return r.EventHandler.Handle(ctx, eventType, deliveryID, payload) })
	var p *recovery.Panic
	if !errors.As(err, &p) {
		return err
	}
	logPanic(ctx, p, "handler")
	if r.panics != nil {
		r.panics.Inc()
	}
	about := aboutOf(payload)
	if about.number == 0 || about.installation == 0 || about.owner == "" || about.repo == "" {
		return err // not about a pull request: the log and the metric are all
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	if rerr := recovery.Call(func() error { return r.report(ctx, about, eventType, deliveryID) }); rerr != nil {
		zerolog.Ctx(ctx).Error().Err(rerr).Msg("could not tell the pull request about the internal error")
	}
	return err
}

func (r *recovering) report(ctx context.Context, about about, eventType, deliveryID string) error {
	slug, err := r.slug.Get(ctx)
	if err != nil {
		return err
	}
	client, err := r.clients.NewInstallationClient(about.installation)
	if err != nil {
		return err
	}
	return publish.InternalError(ctx, gh.New(client), gh.Repo{Owner: about.owner, Name: about.repo},
		about.number, slug+"[bot]", eventType, deliveryID)
}

// logPanic logs a recovered panic with its stack; the stack stays in the
// log, never on GitHub.
func logPanic(ctx context.Context, p *recovery.Panic, where string) {
	zerolog.Ctx(ctx).Error().Str("where", where).Str("panic", p.Error()).Str("stack", string(p.Stack)).
		Msg("internal error: recovered from a panic; the work was not done")
}

// about is the pull request a delivery concerns, as far as its payload
// says, read without the full event types (whose decoding may be what
// panicked).
type about struct {
	installation int64
	owner, repo  string
	number       int
}

func aboutOf(payload []byte) about {
	var ev struct {
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Repository struct {
			Name  string `json:"name"`
			Owner struct {
				Login string `json:"login"`
			} `json:"owner"`
		} `json:"repository"`
		Number      int `json:"number"`
		PullRequest struct {
			Number int `json:"number"`
		} `json:"pull_request"`
		Issue struct {
			Number      int             `json:"number"`
			PullRequest json.RawMessage `json:"pull_request"`
		} `json:"issue"`
		CheckRun struct {
			PullRequests []struct {
				Number int `json:"number"`
			} `json:"pull_requests"`
		} `json:"check_run"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		return about{}
	}
	a := about{installation: ev.Installation.ID, owner: ev.Repository.Owner.Login, repo: ev.Repository.Name}
	switch {
	case ev.Number != 0:
		a.number = ev.Number
	case ev.PullRequest.Number != 0:
		a.number = ev.PullRequest.Number
	case ev.Issue.Number != 0 && len(ev.Issue.PullRequest) > 0 && string(ev.Issue.PullRequest) != "null":
		a.number = ev.Issue.Number
	case len(ev.CheckRun.PullRequests) > 0:
		a.number = ev.CheckRun.PullRequests[0].Number
	}
	return a
}

type deliveryKey struct{}

// withDelivery keeps the delivery id in ctx for the work it queues, whose
// notices name it so the log can be searched.
func withDelivery(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, deliveryKey{}, id)
}

func deliveryOf(ctx context.Context) string {
	id, _ := ctx.Value(deliveryKey{}).(string)
	return id
}
