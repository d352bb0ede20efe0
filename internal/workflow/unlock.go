package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh/publish"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/report"
)

// A pull request holds an environment's lock from its plan (lock: on-plan)
// or its /apply until it ends: Closed releases it when the pull request
// closes or its merge has deployed, whatever the deploy did; /unlock
// releases it earlier; an admin's or an unlocker's /unlock ENV --force
// releases another pull request's; and the leader's resync releases every
// lock whose pull request is no longer open, so a lost webhook, a crash or
// a panic never leaves one stuck.

// unlock releases this pull request's locks on envs (all of them when none
// is named), open or closed; another pull request's lock never.
func (s *Session) unlock(ctx context.Context, req CommentRequest, envs []string) error {
	held, err := s.Locks.List(ctx, s.Repo.String())
	if err != nil {
		return err
	}
	var freed, notHeld []string
	for env, h := range held {
		if h.PR == req.Number && (len(envs) == 0 || slices.Contains(envs, env)) {
			if err := s.Locks.Release(ctx, lockKey(s.Repo, env), h); err != nil {
				return err
			}
			freed = append(freed, env)
		}
	}
	for _, env := range envs {
		if !slices.Contains(freed, env) {
			notHeld = append(notHeld, env)
		}
	}
	return s.reply(ctx, req, report.Unlocked(req.Number, slices.Sorted(slices.Values(freed)), notHeld, heldByOthers(held, notHeld, req.Number)))
}

// heldByOthers says which of envs another pull request holds, and how its
// lock can go.
func heldByOthers(held map[string]lock.Holder, envs []string, number int) string {
	var parts []string
	for _, env := range envs {
		if h, ok := held[env]; ok && h.PR != number {
			parts = append(parts, report.HeldBy(env, h.PR))
		}
	}
	return strings.Join(parts, " ")
}

// forceUnlockCommand answers /unlock ENV --force before anything is
// queued: releasing another pull request's lock is for repository admins
// and the server's unlockers (write permission or not); anyone else is
// refused through answer, told who may.
func (s *Session) forceUnlockCommand(ctx context.Context, req CommentRequest, envs []string, answer func(context.Context, CommentRequest, string) error) (*Work, error) {
	ok, why, err := policy.MayForceUnlock(ctx, req.User, s.Unlockers, s.directory())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, answer(ctx, req, report.ForceUnlockRefused(req.User, why))
	}
	return &Work{What: "unlock", Run: func(ctx context.Context) error { return s.forceUnlock(ctx, req, envs) }}, nil
}

// forceUnlock releases the locks on envs whoever holds them, and tells the
// holders: a lock someone else released must not go unnoticed.
func (s *Session) forceUnlock(ctx context.Context, req CommentRequest, envs []string) error {
	log := zerolog.Ctx(ctx)
	var lines []string
	for _, env := range envs {
		key := lockKey(s.Repo, env)
		h, err := s.Locks.Holder(ctx, key)
		if err != nil {
			return fmt.Errorf("read the %s lock: %w", env, err)
		}
		if h == nil {
			lines = append(lines, report.NotLocked(env))
			continue
		}
		if err := s.Locks.Release(ctx, key, *h); err != nil {
			return fmt.Errorf("release the %s lock of #%d: %w", env, h.PR, err)
		}
		if h.PR == req.Number {
			lines = append(lines, report.ReleasedOwn(env))
			continue
		}
		log.Warn().Str("user", req.User).Str("env", env).Int("holder", h.PR).Msg("lock force-released")
		said := report.ForceReleased(req.User, env, h.PR)
		lines = append(lines, said+".")
		body := report.ForceReleasedHolder(said, req.Number, env)
		if _, err := s.GitHub.CreateComment(ctx, s.Repo, h.PR, body); err != nil {
			// The lock is gone either way; the commenter hears it below.
			log.Error().Err(err).Int("holder", h.PR).Msg("tell the holder of a force-released lock")
			lines = append(lines, fmt.Sprintf("(#%d could not be told: %v.)", h.PR, err))
		}
	}
	return s.reply(ctx, req, strings.Join(lines, "\n"))
}

// Closed releases a closed pull request's locks and marks its plan stale.
func (s *Session) Closed(ctx context.Context, number int) error {
	freed, err := s.Locks.ReleasePR(ctx, s.Repo.String(), number)
	if err != nil {
		return err
	}
	if len(freed) > 0 {
		zerolog.Ctx(ctx).Info().Strs("envs", freed).Msg("released locks of a closed pull request")
	}
	return publish.MarkStale(ctx, s.GitHub, s.Repo, number, s.Bot,
		"This pull request is closed: the plan below is stale and its locks are released.")
}

// releaseStaleLocks releases the locks of pull requests that are no longer
// open: the `closed` webhook that should have (or the deploy of a merge)
// was lost, failed or crashed. GitHub's word on each holder decides; a
// holder GitHub cannot be asked about keeps its lock until the next pass.
func (s *Session) releaseStaleLocks(ctx context.Context) error {
	held, err := s.Locks.List(ctx, s.Repo.String())
	if err != nil {
		return fmt.Errorf("list locks: %w", err)
	}
	var holders []int
	for _, h := range held {
		if !slices.Contains(holders, h.PR) {
			holders = append(holders, h.PR)
		}
	}
	slices.Sort(holders)
	var errs []error
	for _, n := range holders {
		pr, err := s.GitHub.PullRequest(ctx, s.Repo, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("state of lock holder #%d: %w", n, err))
			continue
		}
		if pr.State == "open" {
			continue
		}
		zerolog.Ctx(ctx).Warn().Int("pr", n).Bool("merged", pr.Merged).Msg("resync: releasing the locks of a pull request that is no longer open")
		if err := s.Closed(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("release the locks of #%d: %w", n, err))
		}
	}
	return errors.Join(errs...)
}
