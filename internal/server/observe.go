package server

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/notify"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// observer passes what the workflows did to the job metrics and, for what
// people want to hear of, to the notifier.
type observer struct {
	jobs   *metrics.Jobs
	notify *notify.Notifier
	webURL string // github.web_url, for links
}

func (o observer) Undeployed(repo, env string, behind bool) { o.jobs.Undeployed(repo, env, behind) }

func (o observer) Observe(e workflow.Event) {
	switch e.Kind {
	case workflow.KindPlan:
		o.jobs.Plan(e.Env, e.Outcome, e.Took)
		return
	case workflow.KindDrift:
		o.jobs.Drift(e.Env, e.Outcome)
		// Tell of drift found, and of drift gone from a commit it was
		// found on; a check that finds what it found last time is quiet.
		if e.Repeat || (e.Outcome == workflow.OutcomeInSync && e.CheckURL == "") {
			return
		}
	default:
		changed := map[string]int{}
		for outcome, n := range e.Objects {
			changed[string(outcome)] = n
		}
		o.jobs.Apply(e.Env, e.Kind, e.Outcome, e.Took, changed)
	}
	o.notify.Send(o.message(e))
}

// message is e for people: names, counts and links, nothing more.
func (o observer) message(e workflow.Event) notify.Message {
	repo := o.webURL + "/" + e.Repo
	m := notify.Message{
		Event: e.Kind, Outcome: e.Outcome, Repository: e.Repo, Environment: e.Env, Commit: e.Commit,
		PullRequest: e.PR, Summary: e.Summary, Text: report.NotifyLine(e.Kind, e.Outcome, e.Repo, e.Env, e.Commit, e.Summary),
		Links: notify.Links{
			Check:       e.CheckURL,
			Commit:      repo + "/commit/" + url.PathEscape(e.Commit),
			Deployments: repo + "/deployments/" + url.PathEscape(e.Env),
		},
	}
	if e.PR != 0 {
		m.Links.PullRequest = fmt.Sprintf("%s/pull/%d", repo, e.PR)
	}
	return m
}

// countedLocks counts the environment locks pull requests take, and how
// long they held them when released.
type countedLocks struct {
	lock.Store
	jobs *metrics.Jobs
}

func (c countedLocks) Acquire(ctx context.Context, key lock.Key, holder lock.Holder) error {
	before, herr := c.Store.Holder(ctx, key)
	err := c.Store.Acquire(ctx, key, holder)
	if err == nil && herr == nil && before == nil {
		c.jobs.LockTaken(key.Env)
	}
	return err
}

func (c countedLocks) Release(ctx context.Context, key lock.Key, holder lock.Holder) error {
	before, herr := c.Store.Holder(ctx, key)
	err := c.Store.Release(ctx, key, holder)
	if err == nil && herr == nil && before != nil && before.Same(holder) {
		c.jobs.LockReleased(key.Env, time.Since(before.Since))
	}
	return err
}

func (c countedLocks) ReleasePR(ctx context.Context, repo string, pr int) ([]string, error) {
	held, lerr := c.Store.List(ctx, repo)
	freed, err := c.Store.ReleasePR(ctx, repo, pr)
	if lerr == nil {
		for _, env := range freed {
			if h, ok := held[env]; ok {
				c.jobs.LockReleased(env, time.Since(h.Since))
			}
		}
	}
	return freed, err
}
