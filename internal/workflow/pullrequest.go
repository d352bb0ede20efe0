package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/affected"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/publish"
	"github.com/slipwayhq/slipway/internal/gh/source"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/strictyaml"
	"github.com/slipwayhq/slipway/internal/throttle"
)

// Source is where a pull request's inputs come from (source.Fetcher).
type Source interface {
	Tree(ctx context.Context, owner, repo, sha string) (string, func(), error)
	Config(ctx context.Context, owner, repo, ref string) (*repoconfig.Config, error)
	ChangedFiles(ctx context.Context, owner, repo string, number int) ([]string, error)
}

// Names of slipway's check runs.
const (
	checkPlanPrefix = "slipway/plan: "
	checkConfig     = "slipway/plan"
)

// Runner holds what every pull-request job needs; one per server.
type Runner struct {
	// Bot is the App's bot login (slug + "[bot]"), whose comments are slipway's own.
	Bot string
	// AppID is the App's id (github.app.integration_id): only check runs
	// this App made are slipway's state.
	AppID int64
	// Targets resolves the clusters a repository may plan against.
	Targets func(repo string) kube.Targets
	Locks   lock.Store
	// Runs keeps two applies of one environment (here or on another
	// replica) from running at once.
	Runs lock.Runs
	// Unlockers may release any pull request's lock (/unlock ENV --force)
	// besides repository admins: the server config's unlockers.
	Unlockers []string
	Options   PlanOptions
	// Rendered remembers which files each environment reads at a commit.
	Rendered *FilesCache
	// Outsiders limits replies to users without write permission (see
	// OutsiderReplyWindow); nil limits nothing.
	Outsiders *throttle.Limiter
	// Observer hears what plans, rollouts and drift checks came to
	// (metrics, notifications); nil hears nothing.
	Observer Observer
	// FollowPoll is how often the status of a reconciler that applies an
	// environment is read after a merge; 0: every 2s.
	FollowPoll time.Duration
}

// Session binds the runner to one installation and repository.
type Session struct {
	*Runner
	GitHub gh.Port
	Source Source
	Repo   gh.Repo
}

// planOptions are the runner's plan options for this session's repository,
// whose inventories its plans and applies read and write.
func (s *Session) planOptions() PlanOptions {
	opts := s.Options
	opts.Repository = s.Repo.String()
	opts.Render = s.renderOptions()
	return opts
}

// renderOptions are the runner's render options for this session's
// repository, whose renders may fetch only from the chart sources open to
// it (helm.repositories[].repos).
func (s *Session) renderOptions() render.Options {
	o := s.Options.Render
	o.Repository = s.Repo.String()
	return o
}

// PlanRequest says which pull request to plan and what started it.
type PlanRequest struct {
	Number int
	// Envs names environments to plan (a /plan command); empty means every
	// environment the pull request affects.
	Envs []string
	// Auto is true for plans started by a push rather than a person; drafts
	// are not auto-planned unless the repository asks for it.
	Auto bool
	// ByWriter is true for a /plan by a user with write permission: the
	// only way a pull request from a fork is planned (see forkGate).
	ByWriter bool
	// Pusher pushed PushedHead (the sender of the pull_request delivery);
	// the plan records it when that is still the head, and their approval
	// of it does not count.
	Pusher, PushedHead string
}

// PlanPR plans a pull request's environments, reports each on a check run
// and the whole on the sticky comment, and takes environment locks.
func (s *Session) PlanPR(ctx context.Context, req PlanRequest) error {
	log := zerolog.Ctx(ctx)
	pr, err := s.GitHub.PullRequest(ctx, s.Repo, req.Number)
	if err != nil {
		return err
	}
	if pr.State != "open" {
		return nil
	}
	rc, rules, err := s.config(ctx)
	var invalid strictyaml.Errors
	switch {
	case errors.Is(err, source.ErrNoConfig):
		log.Info().Msg("no .slipway.yaml on the default branch; nothing to plan")
		return nil
	case errors.As(err, &invalid):
		if otherBase(pr, rules) != "" {
			return s.publish(ctx, pr, nil, []string{otherBase(pr, rules)})
		}
		return s.reportConfigError(ctx, pr, rules, err)
	case err != nil:
		return err
	}
	if why := otherBase(pr, rules); why != "" {
		log.Info().Str("base", pr.BaseRef).Msg("not into the default branch; not planned")
		return s.publish(ctx, pr, nil, []string{why})
	}
	cfg := rc.Config
	if req.Auto && pr.Draft && !cfg.AutoplanDrafts {
		log.Info().Msg("draft pull request: not auto-planned")
		return nil
	}
	if ok, note := forkGate(pr, s.Repo, req); !ok {
		log.Info().Str("head_repo", pr.HeadRepo).Msg("pull request from a fork: planned only on a writer's /plan")
		if note == "" {
			return nil
		}
		return s.publish(ctx, pr, nil, []string{note})
	}

	head, cleanHead, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, pr.HeadSHA)
	if err != nil {
		return err
	}
	defer cleanHead()
	changed, err := s.Source.ChangedFiles(ctx, s.Repo.Owner, s.Repo.Name, pr.Number)
	if err != nil {
		return err
	}
	runs, err := s.ownRuns(ctx, pr.HeadSHA)
	if err != nil {
		return err
	}
	envs := req.Envs
	var affected []string
	var rendered map[string]*render.Result // at head, by the affected computation
	known := false                         // affected is computed
	if len(envs) == 0 {
		if affected, rendered, err = s.affectedRenders(ctx, cfg, pr.BaseSHA, head, changed); err != nil {
			return err
		}
		envs, known = autoplanned(cfg, affected, req.Auto), true
	}
	pusher := ""
	if req.PushedHead == pr.HeadSHA {
		pusher = req.Pusher
	}
	// Environments with no run at this head that the pull request does not
	// touch get neutral runs first, so that a crash before the plans below
	// leaves the head unplanned (neutral runs are no plan) rather than
	// half-reported.
	if lacking := lackingPlanRun(cfg, runs, envs); len(lacking) > 0 {
		if !known {
			if affected, rendered, err = s.affectedRenders(ctx, cfg, pr.BaseSHA, head, changed); err != nil {
				return err
			}
		}
		s.reportUnaffected(ctx, cfg, pr.HeadSHA, "pull request", pusher, without(lacking, affected), runs)
	}
	notes := prNotes(changed)
	if len(envs) == 0 {
		return s.publish(ctx, pr, nil, append(notes, report.NothingAffected()))
	}

	plans := make([]*plan.Plan, len(envs))
	var wg sync.WaitGroup
	var caught recovery.Caught // a panic goes to the job's recovery, not the process
	for i, name := range envs {
		// Each render goes to one plan only: placing it edits it, and a
		// name given twice (/plan staging staging) renders again.
		pre := rendered[name]
		delete(rendered, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer caught.Recover()
			plans[i] = s.planEnvironment(ctx, cfg, pr, head, name, pusher, pre)
		}()
	}
	wg.Wait()
	caught.Repanic()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if err := s.publish(ctx, pr, plans, notes); err != nil {
		return err
	}
	_, err = s.checkPolicy(ctx, rc, pr, head)
	return err
}

// autoplanned is, of the affected environments, those to plan: all of
// them for a person's request, those with autoplan on for a push.
func autoplanned(cfg *repoconfig.Config, affected []string, auto bool) []string {
	var envs []string
	for _, name := range affected {
		if env, ok := cfg.Environment(name); ok && (!auto || env.AutoplanEnabled()) {
			envs = append(envs, name)
		}
	}
	return envs
}

// baseFiles is what each environment reads at the base commit. Many pull
// requests share a base, so the answer is remembered per commit.
func (s *Session) baseFiles(ctx context.Context, cfg *repoconfig.Config, sha string) (map[string][]string, error) {
	key := s.Repo.String() + "@" + sha
	if files, ok := s.Rendered.get(key); ok {
		return files, nil
	}
	base, cleanBase, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, sha)
	if err != nil {
		return nil, err
	}
	defer cleanBase()
	files, _ := affected.Files(ctx, base, cfg, s.renderOptions(), s.Options.Limits)
	s.Rendered.put(key, files)
	return files, nil
}

// planEnvironment runs one environment's plan at pr's head between its
// check run's start and completion. Every state of the run records pusher,
// when known. pre, if not nil, is the environment's render at head already
// made, which the plan takes instead of rendering again.
func (s *Session) planEnvironment(ctx context.Context, cfg *repoconfig.Config, pr *gh.PR, head, name, pusher string, pre *render.Result) *plan.Plan {
	log := zerolog.Ctx(ctx).With().Str("env", name).Str("sha", pr.HeadSHA).Logger()
	defer s.planning(ctx, pr.HeadSHA, name)()
	run := gh.CheckRun{Name: checkPlanPrefix + name, HeadSHA: pr.HeadSHA, Status: "in_progress", Title: "Planning " + name + "…",
		Summary: withPusher("slipway is asking the cluster what would change.", pusher)}
	id, runURL, err := s.GitHub.CreateCheckRun(ctx, s.Repo, run)
	if err != nil {
		log.Error().Err(err).Msg("create check run")
	}
	defer func() {
		// A panic is the job's to report; the check run must not spin.
		if r := recover(); r != nil {
			if id != 0 {
				_ = s.GitHub.UpdateCheckRun(context.WithoutCancel(ctx), s.Repo, id, gh.CheckRun{Name: run.Name, Status: "completed",
					Conclusion: "failure", Title: "Internal error", Summary: withPusher(report.PlanInternalError(name), pusher)})
			}
			panic(r)
		}
	}()

	began := time.Now()
	opts := s.planOptions()
	opts.Rendered = pre
	p, cause := PlanEnvironment(ctx, head, cfg, name, pr.HeadSHA, s.Targets(s.Repo.String()), opts)
	planned := Event{Kind: KindPlan, Env: name, Outcome: planOutcome(p), Took: time.Since(began), Commit: pr.HeadSHA, PR: pr.Number, Summary: report.Summary(p), CheckURL: runURL}
	if ctx.Err() != nil {
		planned.Outcome = OutcomeCancelled
		s.observe(planned)
		// Superseded or shutting down: never leave the check run spinning.
		done := gh.CheckRun{Name: run.Name, Status: "completed", Conclusion: "cancelled",
			Title: "Cancelled", Summary: withPusher(fmt.Sprintf("This plan stopped early: %v.", context.Cause(ctx)), pusher)}
		if id != 0 {
			_ = s.GitHub.UpdateCheckRun(context.WithoutCancel(ctx), s.Repo, id, done)
		}
		return p
	}
	if env, ok := cfg.Environment(name); ok && p.Err == "" && pr.Number != 0 {
		s.lockOnPlan(ctx, env, pr.Number, !isFork(pr, s.Repo), p) // a merge group (no pull request) takes no locks
	}

	body := report.MarkdownSingle([]*plan.Plan{p}, report.MarkdownOptions{MaxLen: gh.CheckRunLimit - len(withPusher("", pusher)),
		FullReport: report.FullReportHint("")})
	done := gh.CheckRun{
		Name:        run.Name,
		Status:      "completed",
		Conclusion:  "success",
		ExternalID:  p.Digest,
		Title:       checkTitle(p),
		Text:        planRunText(p),
		Summary:     withPusher(body, pusher),
		Annotations: annotations(p, cause),
	}
	if p.Err != "" || p.Counts().Error > 0 {
		done.Conclusion = "failure"
	}
	if id != 0 {
		if err := s.GitHub.UpdateCheckRun(ctx, s.Repo, id, done); err != nil {
			log.Error().Err(err).Msg("complete check run")
		}
	} else if _, _, err := s.GitHub.CreateCheckRun(ctx, s.Repo, done); err != nil {
		log.Error().Err(err).Msg("create completed check run")
	}
	s.observe(planned)
	log.Info().Str("summary", report.Summary(p)).Msg("planned")
	return p
}

// lockOnPlan takes the environment's lock for this pull request when its
// plan would change something (lock: on-plan) and it may lock (a fork's
// pull request may not: it cannot be applied, and would only hold up
// others), or says who holds it.
func (s *Session) lockOnPlan(ctx context.Context, env *repoconfig.Environment, number int, mayLock bool, p *plan.Plan) {
	key := lockKey(s.Repo, env.Name)
	holder, err := s.Locks.Holder(ctx, key)
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("read lock")
		return
	}
	if holder != nil && holder.PR != number {
		p.Notes = append(p.Notes, lockedNote(env, *holder))
		return
	}
	if env.Lock != repoconfig.LockOnPlan || !p.HasChanges() {
		return
	}
	if !mayLock {
		p.Notes = append(p.Notes, report.ForkTakesNoLock(env.Name))
		return
	}
	err = s.Locks.Acquire(ctx, key, lock.Holder{Repo: s.Repo.String(), PR: number})
	var locked *lock.ErrLocked
	switch {
	case errors.As(err, &locked):
		p.Notes = append(p.Notes, lockedNote(env, locked.Holder))
	case err != nil:
		zerolog.Ctx(ctx).Error().Err(err).Msg("take lock")
	default:
		p.Notes = append(p.Notes, report.LockTaken(env.Name, env.Mode == repoconfig.ModeOnMerge))
	}
}

// lockedNote tells a pull request whose plan of env another pull request
// holds what that means, by mode: an on-merge environment's policy check
// fails until the lock is free (merging would deploy over the holder's plan
// in review), and a before-merge one cannot be applied until then.
func lockedNote(env *repoconfig.Environment, h lock.Holder) string {
	return report.LockedByOther(env.Name, h.PR, env.Mode == repoconfig.ModeOnMerge)
}

// publish writes the sticky comment, unless the pull request moved on to a
// newer head meanwhile: a plan of an older commit never replaces a newer one.
func (s *Session) publish(ctx context.Context, planned *gh.PR, plans []*plan.Plan, notes []string) error {
	now, err := s.GitHub.PullRequest(ctx, s.Repo, planned.Number)
	if err != nil {
		return err
	}
	if now.HeadSHA != planned.HeadSHA {
		zerolog.Ctx(ctx).Info().Str("planned", planned.HeadSHA).Str("head", now.HeadSHA).Msg("head moved; not publishing an outdated plan")
		return nil
	}
	var parts []string
	if len(plans) > 0 {
		parts = report.Markdown(plans, report.MarkdownOptions{Marker: publish.PlanMarker})
	} else {
		parts = []string{publish.PlanMarker + "\n### slipway plan for " + short(planned.HeadSHA) + "\n"}
	}
	if len(notes) > 0 {
		parts[0] = insertNotes(parts[0], notes)
	}
	return publish.Sticky(ctx, s.GitHub, s.Repo, planned.Number, s.Bot, parts)
}

// insertNotes puts notes right under the comment's heading line.
func insertNotes(part string, notes []string) string {
	lines := strings.SplitN(part, "\n", 3)
	block := "\n> " + strings.Join(notes, "\n>\n> ") + "\n"
	if len(lines) < 3 {
		return part + block
	}
	return lines[0] + "\n" + lines[1] + "\n" + block + lines[2]
}

func prNotes(changed []string) []string {
	if affected.ConfigChanged(changed) {
		return []string{report.ConfigEdited()}
	}
	return nil
}

func checkTitle(p *plan.Plan) string {
	title := report.Summary(p)
	for _, n := range p.Notes {
		if strings.Contains(n, "is locked by") {
			return title + " · locked"
		}
	}
	return title
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Key is the run queue key of a pull request.
func Key(repo string, number int) string { return fmt.Sprintf("%s#%d", strings.ToLower(repo), number) }

// planning marks the plan of env at head as under way on this replica
// until the returned func is called, for the whole life of its check run:
// a replica that dies mid-plan leaves the run in progress, and the
// leader's resync completes it and plans again once the mark has lapsed
// (see abandoned), instead of after interruptedAfter. The mark is only a
// sign of life: a plan never waits or fails for it.
func (s *Session) planning(ctx context.Context, head, env string) (end func()) {
	if s.Runs == nil {
		return func() {}
	}
	_, end, err := s.Runs.Begin(ctx, planKey(s.Repo, head, env), "plan of "+env+" at "+short(head))
	if err != nil {
		// Another replica plans the same head (a duplicate delivery): its
		// mark stands for both. Anything else: plan unmarked.
		var running *lock.ErrRunning
		if !errors.As(err, &running) {
			zerolog.Ctx(ctx).Warn().Err(err).Str("env", env).Msg("mark the plan as running")
		}
		return func() {}
	}
	return end
}

// planMark prefixes the mark of a plan among the run leases; "@" keeps it
// apart from every environment's own run.
const planMark = "plan@"

// planKey names the mark of a plan of env at head among the run leases.
func planKey(repo gh.Repo, head, env string) lock.Key {
	return lock.Key{Repo: repo.String(), Env: planMark + head + "/" + env}
}

// planHead is the head a plan's mark (planKey) was made for; ok is false
// for any other run, and for a mark whose head is not a commit id (the
// lease's annotation is read back into a URL path).
func planHead(k lock.Key) (head string, ok bool) {
	rest, ok := strings.CutPrefix(k.Env, planMark)
	if !ok {
		return "", false
	}
	head, _, _ = strings.Cut(rest, "/")
	return head, isCommitSHA(head)
}

// isCommitSHA reports whether s is a hexadecimal commit id.
func isCommitSHA(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
