package workflow

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/source"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
)

// Names of the policy and apply check runs; an environment's name follows.
const (
	checkPolicyPrefix = "slipway/policy: "
	checkApplyPrefix  = "slipway/apply: "
)

// repoConfig is the default branch's .slipway.yaml with its policy rules
// compiled: a rule that does not compile makes the config invalid.
type repoConfig struct {
	*repoconfig.Config
	rules policy.Rules
}

// rulesHead is where a session's rules come from: the repository's
// default branch and the commit at its head when they were read.
type rulesHead struct{ Branch, SHA string }

// config reads and compiles .slipway.yaml at the current head of the
// default branch, for every action: never at a pull request's head or its
// base, so that a pull request (or a branch its author pushed with looser
// rules and chose as the base) cannot weaken the rules it is weighed by.
// Its errors are those of Source.Config: ErrNoConfig, strictyaml.Errors, or
// a failure to read; head is set whenever the default branch could be read.
func (s *Session) config(ctx context.Context) (*repoConfig, rulesHead, error) {
	branch, sha, err := s.GitHub.DefaultBranch(ctx, s.Repo)
	if err != nil {
		return nil, rulesHead{}, err
	}
	head := rulesHead{Branch: branch, SHA: sha}
	cfg, err := s.Source.Config(ctx, s.Repo.Owner, s.Repo.Name, sha)
	if err != nil {
		return nil, head, err
	}
	rules, err := policy.CompileRules(cfg)
	if err != nil {
		return nil, head, err
	}
	return &repoConfig{Config: cfg, rules: rules}, head, nil
}

// otherBase says why pr is left alone when it does not target the default
// branch ("" when it does): its base branch's rules are whatever its
// author pushed there, so slipway neither plans, applies nor deploys it.
func otherBase(pr *gh.PR, head rulesHead) string {
	if pr.BaseRef == head.Branch {
		return ""
	}
	return report.OtherBase(pr.BaseRef, head.Branch)
}

// directory answers policy's questions about people through the port.
type directory struct {
	gh   gh.Port
	repo gh.Repo
}

func (d directory) Permission(ctx context.Context, user string) (string, error) {
	return d.gh.Permission(ctx, d.repo, user)
}

func (d directory) TeamMember(ctx context.Context, org, team, user string) (bool, error) {
	return d.gh.TeamMember(ctx, org, team, user)
}

func (d directory) CommitAuthors(ctx context.Context, sha string) (string, string, error) {
	return d.gh.CommitAuthors(ctx, d.repo, sha)
}

func (s *Session) directory() directory { return directory{s.GitHub, s.Repo} }

// plannedEnvs are the environments planned at sha, from slipway's plan
// check runs there: GitHub, not memory, says what a pull request affects.
// Each name's newest run decides (runs are newest first), and a neutral
// "not affected" run is no plan.
func plannedEnvs(runs []gh.CheckRunState, cfg *repoconfig.Config) []string {
	seen := map[string]bool{}
	var names []string
	for _, r := range runs {
		name, ok := strings.CutPrefix(r.Name, checkPlanPrefix)
		if _, known := cfg.Environment(name); !ok || !known || seen[name] {
			continue
		}
		seen[name] = true
		if !notAffected(r) {
			names = append(names, name)
		}
	}
	return cfg.Order(names)
}

// latestRun is the newest check run named name (runs are newest first).
func latestRun(runs []gh.CheckRunState, name string) (gh.CheckRunState, bool) {
	for _, r := range runs {
		if r.Name == name {
			return r, true
		}
	}
	return gh.CheckRunState{}, false
}

// planState says whether env's newest plan at the head stands, and which
// plan approvals are of.
func planState(runs []gh.CheckRunState, env, head string) policy.PlanState {
	st := policy.PlanState{Current: true, Reason: "planned at " + short(head)}
	st.Digest, st.PublishedAt = published(runs, env)
	r, ok := latestRun(runs, checkPlanPrefix+env)
	switch {
	case !ok:
		st.Current, st.Reason = false, "no plan of "+env+" at "+short(head)+" yet"
	case r.Status != "completed":
		st.Current, st.Reason = false, "the plan of "+env+" at "+short(head)+" is still running"
	case r.Conclusion != "success":
		st.Current, st.Reason = false, "the plan of "+env+" at "+short(head)+" ended "+r.Conclusion
	}
	return st
}

// evaluatePolicy weighs env's policy for pr, given the head checkout, the
// head's check runs made by slipway (runs) and by every App (all; nil
// unless some environment requires checks-green).
func (s *Session) evaluatePolicy(ctx context.Context, cfg *repoConfig, pr *gh.PR, tree, name string, runs, all []gh.CheckRunState, reviews []gh.Review) policy.Result {
	env, _ := cfg.Environment(name)
	objects, err := s.renderObjects(ctx, tree, cfg.Config, env)
	in := policy.Input{
		Env:       env,
		Rules:     cfg.rules.For(name),
		Author:    pr.Author,
		Pushers:   pushers(runs),
		HeadSHA:   pr.HeadSHA,
		Mergeable: pr.Mergeable,
		Plan:      planState(runs, name, pr.HeadSHA),
		Objects:   objects,
		Lock:      s.lockState(ctx, name, pr.Number),
	}
	// The server's floor and rules come on top. When the server config
	// refuses env, the render above fails saying why, and so does policy.
	if bounds, err := s.Targets(s.Repo.String()).Resolve(env); err == nil {
		in.MinApprovals = bounds.MinApprovals
		in.Rules = append(slices.Clone(bounds.Rules), in.Rules...)
	}
	for _, r := range reviews {
		in.Reviews = append(in.Reviews, policy.Review{User: r.User, State: r.State, CommitID: r.CommitID, SubmittedAt: r.SubmittedAt})
	}
	seen := map[string]bool{}
	for _, r := range all { // newest first: each name's latest run decides
		if !seen[r.Name] {
			seen[r.Name] = true
			in.Checks = append(in.Checks, policy.Check{Name: r.Name, Status: r.Status, Conclusion: r.Conclusion})
		}
	}
	res := policy.Evaluate(ctx, in, s.directory())
	if err != nil {
		// Rules cannot be weighed on manifests that do not render: that is
		// never a pass.
		res.Items = append(res.Items, policy.Item{Kind: policy.ItemRule, Name: "manifests render", Reason: err.Error()})
	}
	return res
}

// lockState is who holds env's lock, for the policy's lock item.
func (s *Session) lockState(ctx context.Context, env string, number int) policy.LockState {
	h, err := s.Locks.Holder(ctx, lockKey(s.Repo, env))
	switch {
	case err != nil:
		return policy.LockState{Err: err}
	case h == nil:
		return policy.LockState{}
	}
	return policy.LockState{Holder: h.PR, Mine: h.PR == number}
}

// renderObjects renders env at tree the way a plan does, without asking
// the cluster anything but its discovery.
func (s *Session) renderObjects(ctx context.Context, tree string, cfg *repoconfig.Config, env *repoconfig.Environment) ([]*unstructured.Unstructured, error) {
	_, _, rendered, err := renderFor(ctx, tree, env, s.Targets(s.Repo.String()), s.planOptions())
	if err != nil {
		return nil, err
	}
	// Hooks an apply may run reach the cluster too: rules weigh them.
	hooks, err := plan.RunnableHooks(rendered.Skipped)
	if err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, 0, len(rendered.Objects)+len(hooks))
	for _, o := range append(slices.Clip(rendered.Objects), hooks...) {
		objs = append(objs, o.Object)
	}
	return objs, nil
}

// publishPolicy writes env's slipway/policy check run on the head, editing
// the newest one of that name rather than piling up new runs.
func (s *Session) publishPolicy(ctx context.Context, head string, res policy.Result, runs []gh.CheckRunState) {
	run := gh.CheckRun{
		Name:       checkPolicyPrefix + res.Env,
		HeadSHA:    head,
		Status:     "completed",
		Conclusion: "success",
		Title:      res.Title(),
		Summary:    report.Policy(res),
	}
	if !res.Passed() {
		run.Conclusion = "failure"
	}
	if err := s.editOrCreateRun(ctx, runs, run); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str("env", res.Env).Msg("publish policy check")
	}
}

// editOrCreateRun writes run over the newest check run of its name among
// runs (those on its commit), or creates it: a verdict that is re-weighed
// is edited in place rather than piling up runs.
func (s *Session) editOrCreateRun(ctx context.Context, runs []gh.CheckRunState, run gh.CheckRun) error {
	if old, ok := latestRun(runs, run.Name); ok {
		return s.GitHub.UpdateCheckRun(ctx, s.Repo, old.ID, run)
	}
	_, _, err := s.GitHub.CreateCheckRun(ctx, s.Repo, run)
	return err
}

// checkPolicy evaluates and publishes the policy of every environment
// planned at the pull request's head, in tree (fetched when "").
func (s *Session) checkPolicy(ctx context.Context, cfg *repoConfig, pr *gh.PR, tree string) (map[string]policy.Result, error) {
	runs, err := s.ownRuns(ctx, pr.HeadSHA)
	if err != nil {
		return nil, err
	}
	envs := plannedEnvs(runs, cfg.Config)
	if len(envs) == 0 {
		return nil, nil
	}
	reviews, err := s.GitHub.Reviews(ctx, s.Repo, pr.Number)
	if err != nil {
		return nil, err
	}
	var all []gh.CheckRunState
	if requiresChecksGreen(cfg.Config, envs) {
		// Other tools' checks (CI) are weighed here, and only here.
		if all, err = s.GitHub.CheckRuns(ctx, s.Repo, pr.HeadSHA, gh.AnyApp); err != nil {
			return nil, err
		}
	}
	if tree == "" {
		dir, clean, err := s.Source.Tree(ctx, s.Repo.Owner, s.Repo.Name, pr.HeadSHA)
		if err != nil {
			return nil, err
		}
		defer clean()
		tree = dir
	}
	out := make(map[string]policy.Result, len(envs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var caught recovery.Caught // a panic goes to the job's recovery, not the process
	slots := make(chan struct{}, policyInFlight)
	for _, name := range envs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			defer caught.Recover()
			res := s.evaluatePolicy(ctx, cfg, pr, tree, name, runs, all, reviews)
			s.publishPolicy(ctx, pr.HeadSHA, res, runs)
			mu.Lock()
			out[name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	caught.Repanic()
	return out, nil
}

// policyInFlight is how many environments' policies are weighed at once.
// Each renders its environment in a child process and publishes a check
// run: one at a time, a pull request touching 50 environments waited
// 50 renders in a row for its last policy check.
const policyInFlight = 8

// PolicyPR re-evaluates an open pull request's policy checks: a review
// was submitted or dismissed, or someone asked for the check again.
func (s *Session) PolicyPR(ctx context.Context, number int) error {
	pr, err := s.GitHub.PullRequest(ctx, s.Repo, number)
	if err != nil || pr.State != "open" {
		return err
	}
	cfg, head, err := s.config(ctx)
	switch {
	case errors.Is(err, source.ErrNoConfig):
		return nil
	case err != nil:
		return err // an invalid config is reported by the plan
	case otherBase(pr, head) != "":
		return nil
	}
	_, err = s.checkPolicy(ctx, cfg, pr, "")
	return err
}

func requiresChecksGreen(cfg *repoconfig.Config, envs []string) bool {
	for _, name := range envs {
		if env, ok := cfg.Environment(name); ok && slices.Contains(env.Policy.Require, repoconfig.RequireChecksGreen) {
			return true
		}
	}
	return false
}
