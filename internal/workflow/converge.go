package workflow

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/soakfault"
)

// ErrAlreadyThere refuses a rollout that another pass or replica has made
// unnecessary: the environment is at that commit or a newer one.
var ErrAlreadyThere = errors.New("the environment is already there")

// envHistory is what slipway's own Deployment records say of one
// environment: its newest record, and the newest that succeeded.
type envHistory struct {
	latest, lastOK *gh.DeploymentRecord
}

// historyOf picks out of recs (newest first) the records slipway made:
// created by its App (bot) with its payload, so that no other tool's or
// person's Deployment moves what slipway believes is deployed.
func historyOf(recs []gh.DeploymentRecord, bot string) envHistory {
	var h envHistory
	for i := range recs {
		r := &recs[i]
		if r.Tool != deploymentTool || !strings.EqualFold(r.Creator, bot) {
			continue
		}
		if h.latest == nil {
			h.latest = r
		}
		if r.State == "success" {
			h.lastOK = r
			break
		}
	}
	return h
}

// step is what the loop does about one environment.
type step int

const (
	stepNone     step = iota // at the head already
	stepCompare              // compare the last success with the head, then deploy if it is behind
	stepFromRoot             // never deployed: deploy if the head commit itself changed it
	stepFailed               // its deploy of the head ran and failed: wait for a new commit or /apply
	stepBusy                 // a deploy of the head is under way
)

// nextStep decides, from an environment's history, what reaching head
// takes. A deploy that ran and failed is not retried by the loop (it would
// fail again, in a loop); one that erred outside the apply (interrupted, the
// cluster or GitHub unreachable) is.
func nextStep(h envHistory, head string) step {
	if h.latest != nil && h.latest.Ref == head {
		switch h.latest.State {
		case "success":
			return stepNone
		case "failure":
			return stepFailed
		case "", "queued", "pending", "in_progress":
			return stepBusy
		}
	}
	if h.lastOK == nil {
		return stepFromRoot
	}
	if h.lastOK.Ref == head || h.lastOK.RollbackOf == head {
		// At the head, or rolled back from it after review: the loop
		// waits for the default branch to move on.
		return stepNone
	}
	return stepCompare
}

// Converge makes every on-merge environment match the head of the default
// branch, level-triggered: each environment's state is read from slipway's
// Deployments, an environment behind the head is deployed at the head in
// depends_on order (a failure stops its dependents), and no environment is
// ever moved to a commit its current one descends from. Webhooks (a merge,
// a push) only make it run sooner; the leader runs it every resync. merged
// is the pull request whose merge woke it (0: none): its locks are released
// when the pass is done, and it hears about before-merge environments it
// changed without applying.
func (s *Session) Converge(ctx context.Context, merged int) error {
	if merged != 0 {
		// Whatever the pass does (deploys, fails, errs, panics), the merged
		// pull request's locks go; the resync releases them if this never runs.
		defer func() {
			if cerr := s.Closed(context.WithoutCancel(ctx), merged); cerr != nil {
				zerolog.Ctx(ctx).Error().Err(cerr).Msg("release a merged pull request's locks")
			}
		}()
	}
	if soakfault.On(soakfault.DeployStall) {
		return nil
	}
	cfg, rules, err := s.config(ctx)
	switch {
	case isNoConfig(err):
		return nil
	case isInvalidConfig(err):
		if merged == 0 {
			return nil // the pull requests that touch it are told
		}
		_, cerr := s.GitHub.CreateComment(ctx, s.Repo, merged, report.MergedInvalidConfig(rules.Branch, err.Error()))
		return cerr
	case err != nil:
		return err
	}
	head := rules.SHA
	log := zerolog.Ctx(ctx).With().Str("sha", head).Logger()
	// since is where an environment slipway never deployed is taken to
	// have been: before the merge that woke this pass, else just before the
	// head commit (a first deploy needs its change seen by one of them).
	since := ""
	if merged != 0 {
		pr, err := s.GitHub.PullRequest(ctx, s.Repo, merged)
		if err != nil {
			return err
		}
		if !pr.Merged || pr.BaseRef != rules.Branch {
			// Closed unmerged, or merged into a branch its author may
			// have pushed with looser rules: the default branch did not move.
			return nil
		}
		since = pr.BaseSHA
	}

	var (
		deploy  []string
		blocked = map[string]string{}
		bases   = map[string]string{}
	)
	for _, name := range cfg.Names() {
		env, _ := cfg.Environment(name)
		if env.Mode != repoconfig.ModeOnMerge {
			continue
		}
		recs, err := s.GitHub.EnvironmentDeployments(ctx, s.Repo, name, 30)
		if err != nil {
			return err
		}
		h := historyOf(recs, s.Bot)
		switch nextStep(h, head) {
		case stepNone:
			s.undeployed(name, false)
		case stepFailed:
			blocked[name] = fmt.Sprintf("its deploy of %s failed", short(head))
			s.undeployed(name, true)
		case stepBusy:
			blocked[name] = fmt.Sprintf("its deploy of %s is still running", short(head))
			s.undeployed(name, true)
		case stepCompare:
			cmp, err := s.GitHub.Compare(ctx, s.Repo, h.lastOK.Ref, head)
			if err != nil {
				return err
			}
			if cmp.Status == "behind" || cmp.Status == "identical" {
				// The head is an ancestor of what is deployed (the
				// branch was reset): going back takes a reviewed rollback.
				log.Warn().Str("env", name).Str("deployed", h.lastOK.Ref).Msg("default branch is behind the deployed commit; not going back")
				s.undeployed(name, false)
				continue
			}
			deploy = append(deploy, name)
			bases[name] = h.lastOK.Ref
		case stepFromRoot:
			if since == "" {
				if since, err = s.GitHub.FirstParent(ctx, s.Repo, head); err != nil {
					return err
				}
			}
			if since == "" {
				continue // a first commit: nothing says what changed
			}
			deploy = append(deploy, name)
			bases[name] = since
		}
	}
	if len(deploy) == 0 {
		return nil
	}
	tree, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, head)
	if err != nil {
		return err
	}
	defer clean()
	candidates := deploy
	deploy, err = s.changedSince(ctx, cfg.Config, tree, head, deploy, bases)
	if err != nil {
		return err
	}
	for _, name := range candidates {
		// The commits since its last deploy do not touch it: it is current.
		s.undeployed(name, slices.Contains(deploy, name))
	}

	headPR, err := s.GitHub.MergedPullRequest(ctx, s.Repo, head)
	if err != nil {
		return err
	}
	number := 0
	var notes []string
	if headPR != nil {
		number = headPR.Number
		notes, err = s.unappliedBeforeMerge(ctx, cfg.Config, tree, headPR, blocked)
		if err != nil {
			return err
		}
	}
	if len(deploy) == 0 {
		return nil
	}
	log.Info().Strs("envs", deploy).Msg("converge on the default branch")
	results := s.deployChain(ctx, cfg.Config, tree, head, number, deploy, blocked, true)
	for _, r := range results {
		s.undeployed(r.env, !r.ok() && !errors.Is(r.refused, ErrAlreadyThere))
	}
	results = slices.DeleteFunc(results, func(r rolled) bool { return errors.Is(r.refused, ErrAlreadyThere) })
	for _, r := range results {
		s.recordRefusal(ctx, r, head, number)
	}
	// The merge that woke this pass hears of before-merge environments it
	// left unapplied even when that blocked everything else.
	tell := len(notes) > 0 && number == merged
	if number == 0 || !(anyStarted(results) || tell) {
		return nil
	}
	body := outcomeText(fmt.Sprintf("Merge-to-deploy of %s", short(head)), results)
	if tell {
		body += "\n" + strings.Join(notes, "\n\n") + "\n"
	}
	_, err = s.GitHub.CreateComment(ctx, s.Repo, number, strings.TrimSpace(body))
	return err
}

// changedSince keeps, of envs, those that the files changed between each
// one's base and head touch (every one, when GitHub cannot list them all).
func (s *Session) changedSince(ctx context.Context, cfg *repoconfig.Config, tree, head string, envs []string, bases map[string]string) ([]string, error) {
	var out []string
	byBase := map[string][]string{}
	for _, name := range envs {
		byBase[bases[name]] = append(byBase[bases[name]], name)
	}
	for _, base := range slices.Sorted(maps.Keys(byBase)) {
		cmp, err := s.GitHub.Compare(ctx, s.Repo, base, head)
		if err != nil {
			return nil, err
		}
		names := byBase[base]
		if cmp.Complete && cmp.Status == "ahead" {
			affected, err := s.affectedBetween(ctx, cfg, base, tree, cmp.Files)
			if err != nil {
				return nil, err
			}
			names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(affected, n) })
		}
		out = append(out, names...)
	}
	return cfg.Order(out), nil
}

// unappliedBeforeMerge blocks the before-merge environments pr changed but
// never applied from its head (their dependents must not deploy over them),
// with a note for the pull request.
func (s *Session) unappliedBeforeMerge(ctx context.Context, cfg *repoconfig.Config, tree string, pr *gh.PR, blocked map[string]string) ([]string, error) {
	changed, err := s.Source.ChangedFiles(ctx, s.Repo.Owner, s.Repo.Name, pr.Number)
	if err != nil {
		return nil, err
	}
	affected, err := s.affectedBetween(ctx, cfg, pr.BaseSHA, tree, changed)
	if err != nil {
		return nil, err
	}
	var notes []string
	for _, name := range affected {
		env, _ := cfg.Environment(name)
		if env.Mode != repoconfig.ModeBeforeMerge || s.appliedAt(ctx, pr.HeadSHA, name) {
			continue
		}
		blocked[name] = report.NotAppliedFromPR(name)
		notes = append(notes, report.NotAppliedNote(name))
	}
	return notes, nil
}

// notBehind refuses, under env's run lease, a rollout to commit when
// slipway has meanwhile deployed env at commit or at a commit that descends
// from it: two passes (or replicas) woken by two merges end at the newer.
func (s *Session) notBehind(ctx context.Context, env, commit string) error {
	recs, err := s.GitHub.EnvironmentDeployments(ctx, s.Repo, env, 30)
	if err != nil {
		return err
	}
	h := historyOf(recs, s.Bot)
	if h.lastOK == nil {
		return nil
	}
	if h.lastOK.Ref == commit {
		return fmt.Errorf("%w: %s", ErrAlreadyThere, report.AlreadyAt(env, short(commit)))
	}
	if h.lastOK.RollbackOf == commit {
		return fmt.Errorf("%w: %s", ErrAlreadyThere, report.RolledBackAfterReview(env, short(commit), short(h.lastOK.Ref)))
	}
	cmp, err := s.GitHub.Compare(ctx, s.Repo, h.lastOK.Ref, commit)
	if err != nil {
		return err
	}
	if cmp.Status == "behind" || cmp.Status == "identical" {
		return fmt.Errorf("%w: %s", ErrAlreadyThere, report.NewerThan(env, short(h.lastOK.Ref), short(commit)))
	}
	return nil
}

func anyStarted(rs []rolled) bool {
	var running *lock.ErrRunning
	for _, r := range rs {
		if r.skipped == "" && !errors.As(r.refused, &running) {
			return true
		}
	}
	return false
}

// recordRefusal turns a deploy the loop could not start, because its plan
// was refused (plan errors, the server's bounds), into a failed Deployment
// at head: the Environments tab shows it, and the next pass sees the head
// failed instead of trying again and again. Another replica running the
// environment is not a refusal of the head: the next pass retries.
func (s *Session) recordRefusal(ctx context.Context, r rolled, head string, number int) {
	var running *lock.ErrRunning
	if r.refused == nil || errors.As(r.refused, &running) {
		return
	}
	log := zerolog.Ctx(ctx).With().Str("env", r.env).Logger()
	id, err := s.GitHub.CreateDeployment(ctx, s.Repo, gh.Deployment{
		Ref: head, Environment: r.env, Description: "slipway: refused at " + short(head),
		Payload: deploymentPayload{PullRequest: number, Tool: deploymentTool},
	})
	if err != nil {
		log.Error().Err(err).Msg("record a refused deploy")
		return
	}
	if err := s.GitHub.CreateDeploymentStatus(ctx, s.Repo, id, gh.DeploymentStatus{State: "failure", Description: "refused: " + r.refused.Error()}); err != nil {
		log.Error().Err(err).Msg("record a refused deploy")
	}
}
