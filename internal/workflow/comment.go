package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/command"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/source"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// CommentRequest is a comment someone wrote on a pull request.
type CommentRequest struct {
	Number    int
	CommentID int64
	User      string
	Body      string
	AppSlug   string
}

// Work is what a command asks for, for the caller to queue behind the
// pull request's other work.
type Work struct {
	// What names the work in logs: plan, apply, unlock.
	What string
	// Applies is true when the work may change a cluster (/apply, and its
	// re-deploy of a merged pull request): once started it runs to its end,
	// bounded by its own timeouts, and work arriving meanwhile waits behind
	// it. Other work may be cut short by newer work that makes it stale.
	Applies bool
	Run     func(context.Context) error
}

// Replies to users without write permission are limited to one per user
// and pull request per OutsiderReplyWindow (see Runner.Outsiders).
const (
	OutsiderReplyWindow = 10 * time.Minute
	// OutsiderReplyKeys bounds the memory of the limit: more distinct
	// outsiders than this in one window get no reply at all.
	OutsiderReplyKeys = 10_000
)

// Comment answers a pull request comment: it ignores text not meant for
// slipway, acknowledges a command with 👀 at once, replies to mistakes and
// refusals, and returns the work the command asks for (nil when none), for
// the caller to queue behind the pull request's other work. Permission is
// weighed here, before anything is queued: a command from someone without
// write permission never reaches the queue, so it can neither start nor
// cut short any work, and its replies are rate limited.
func (s *Session) Comment(ctx context.Context, req CommentRequest) (*Work, error) {
	pr, err := s.GitHub.PullRequest(ctx, s.Repo, req.Number)
	if err != nil {
		return nil, err
	}
	var envs []string
	cfg, rules, cfgErr := s.config(ctx)
	if cfgErr == nil {
		envs = cfg.Names()
	}
	cmd, reply, ok := command.Parse(req.Body, req.AppSlug, envs)
	if !ok {
		return nil, nil
	}
	if err := s.GitHub.React(ctx, s.Repo, req.CommentID, "eyes"); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("acknowledge command")
	}
	perm, err := s.GitHub.Permission(ctx, s.Repo, req.User)
	if err != nil {
		return nil, err
	}
	answer := s.reply
	if !canWrite(perm) {
		answer = s.replyOutsider
	}
	switch {
	case reply != nil:
		return nil, answer(ctx, req, report.CommandReply(reply))
	case cmd.Verb == command.Help:
		return nil, answer(ctx, req, report.Help(req.AppSlug, envs))
	case cmd.Force:
		// Weighed on its own: admins and the server's unlockers, with
		// write permission or without.
		return s.forceUnlockCommand(ctx, req, cmd.Envs, answer)
	case !canWrite(perm):
		return nil, answer(ctx, req, noPermission(cmd.Verb, s.Repo, req.User, perm))
	}
	switch {
	case errors.Is(cfgErr, source.ErrNoConfig):
		return nil, s.reply(ctx, req, report.NoConfig(string(cmd.Verb)))
	case rules.Branch == "" && cfgErr != nil:
		return nil, cfgErr // the default branch could not be read
	case cmd.Verb != command.Unlock && otherBase(pr, rules) != "":
		return nil, s.reply(ctx, req, report.CommandRefused(req.User, string(cmd.Verb), otherBase(pr, rules)))
	case cfgErr != nil && cmd.Verb == command.Plan:
		var invalid strictyaml.Errors
		if !errors.As(cfgErr, &invalid) {
			return nil, cfgErr
		}
		return &Work{What: "plan", Run: func(ctx context.Context) error { return s.reportConfigError(ctx, pr, rules, cfgErr) }}, nil
	}
	if cmd.Verb == command.Apply {
		// Who among the writers may apply is the environment's policy
		// (appliers), weighed with the rest of it once the work runs; a
		// merged or closed pull request is answered there too.
		return &Work{What: "apply", Applies: true, Run: func(ctx context.Context) error { return s.ApplyPR(ctx, req, cmd.Envs) }}, nil
	}
	if cmd.Verb == command.Rollback {
		// Like /apply, it may change a cluster, and works on merged pull
		// requests (where a bad deploy is usually noticed).
		return &Work{What: "rollback", Applies: true, Run: func(ctx context.Context) error { return s.Rollback(ctx, req, cmd.Envs[0], cmd.Ref) }}, nil
	}
	if pr.State != "open" && cmd.Verb != command.Unlock { // a closed pull request's lock can still go
		return nil, s.reply(ctx, req, fmt.Sprintf("#%d is closed, so there is nothing to %s.", pr.Number, cmd.Verb))
	}
	switch cmd.Verb {
	case command.Plan:
		return &Work{What: "plan", Run: func(ctx context.Context) error {
			return s.PlanPR(ctx, PlanRequest{Number: req.Number, Envs: cmd.Envs, ByWriter: true})
		}}, nil
	case command.Unlock:
		return &Work{What: "unlock", Run: func(ctx context.Context) error { return s.unlock(ctx, req, cmd.Envs) }}, nil
	}
	return nil, nil
}

// noPermission answers a command from someone who may not give it.
func noPermission(verb command.Verb, repo gh.Repo, user, perm string) string {
	return report.NoPermission(string(verb), repo.String(), user, perm)
}

// replyOutsider replies to someone without write permission, at most once
// per user and pull request per OutsiderReplyWindow: anyone may comment on a
// public repository, and each reply spends the App's GitHub rate limit.
func (s *Session) replyOutsider(ctx context.Context, req CommentRequest, body string) error {
	key := fmt.Sprintf("%s#%d@%s", strings.ToLower(s.Repo.String()), req.Number, strings.ToLower(req.User))
	if s.Outsiders != nil && !s.Outsiders.Allow(key) {
		zerolog.Ctx(ctx).Info().Str("user", req.User).Msg("not replying: this user without write permission was answered on this pull request recently")
		return nil
	}
	return s.reply(ctx, req, body)
}

func canWrite(permission string) bool {
	switch permission {
	case "admin", "maintain", "write":
		return true
	}
	return false
}

func (s *Session) reply(ctx context.Context, req CommentRequest, body string) error {
	_, err := s.GitHub.CreateComment(ctx, s.Repo, req.Number, body)
	return err
}

func lockKey(repo gh.Repo, env string) lock.Key {
	return lock.Key{Repo: repo.String(), Env: env}
}
