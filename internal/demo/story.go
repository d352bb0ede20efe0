package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// The pull request of the story.
const (
	branch  = "release-1.5"
	prTitle = "Release web 1.5.0, retire the promo banner, rotate the database password"

	webFile       = "deploy/base/web.yaml"
	baseKustomize = "deploy/base/kustomization.yaml"
	promoFile     = "deploy/base/promo-banner.yaml"
	secretFile    = "deploy/base/db-credentials.yaml"

	oldImage = "ghcr.io/acme/shop-web:1.4.2"
	newImage = "ghcr.io/acme/shop-web:1.5.0"

	// rotatedPassword is the Secret's new value: like the old one, it must
	// never reach GitHub, the transcript or the page.
	rotatedPassword = "demo-pw-rotated-5d08e6c4a1"
)

// story plays the pull request against a running world.
type story struct {
	w     *world
	t     *transcript
	pr    int
	head  string // the pull request's head
	merge string // its merge commit
}

func (s *story) play(ctx context.Context) error {
	for _, chapter := range []func(context.Context) error{
		s.dayZero, s.open, s.readerApplies, s.approve, s.apply, s.mergeIt, s.order, s.history, s.requests,
	} {
		if err := chapter(ctx); err != nil {
			return err
		}
	}
	return nil
}

// dayZero puts main on every environment with the break-glass CLI, so that
// the pull request has something to change.
func (s *story) dayZero(ctx context.Context) error {
	s.t.Step("Day 0: main is live")
	s.t.Say("Before the story, main is put on the cluster with `slipway apply ENV --yes`, the break-glass CLI:\n" +
		"it renders, plans and applies as the server does, and records nothing on GitHub.")
	cfg, err := repoconfig.Parse(repoconfig.FileName, []byte(s.w.files[repoconfig.FileName]))
	if err != nil {
		return err
	}
	checkout, err := s.w.checkout(ctx)
	if err != nil {
		return err
	}
	var rows [][]string
	rows = append(rows, []string{"Environment", "Rendered by", "Mode", "Cluster", "Namespace", "Applied"})
	for _, name := range cfg.Order(cfg.Names()) {
		env, _ := cfg.Environment(name)
		began := time.Now()
		cli := command(ctx, s.w.binary, "apply", name, "--repo", checkout, "--repository", "acme/shop", "--config", s.w.config, "--yes")
		cli.Env = s.w.environ
		out, err := cli.CombinedOutput()
		if err != nil {
			return fmt.Errorf("slipway apply %s: %v\n%s", name, err, out)
		}
		summary := applySummary(string(out), name)
		s.t.Progress("✓ slipway apply %s: %s (%s)", name, summary, since(began))
		kind := "Kustomize"
		if env.Helm != nil {
			kind = "Helm"
		}
		rows = append(rows, []string{name, kind, env.Mode, env.Cluster, env.Namespace, summary})
	}
	s.t.Table(rows)
	return nil
}

// applySummary is the CLI's closing "ENV: applied (3 created)" line.
func applySummary(out, env string) string {
	summary := "applied"
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, env+": "); ok && strings.Contains(rest, "applied") {
			summary = rest
		}
		if strings.HasPrefix(l, "Nothing to apply") {
			summary = "nothing to apply"
		}
	}
	return summary
}

// change is the pull request's edit of the sample repository.
func (s *story) change() (map[string]string, error) {
	files := map[string]string{}
	edit := func(path, old, new string) error {
		content, ok := s.w.files[path]
		if !ok || !strings.Contains(content, old) {
			return fmt.Errorf("the sample repository changed: %s no longer holds what the story edits; update internal/demo/story.go", path)
		}
		files[path] = strings.Replace(content, old, new, 1)
		return nil
	}
	if err := edit(webFile, oldImage, newImage); err != nil {
		return nil, err
	}
	if err := edit(baseKustomize, "  - promo-banner.yaml\n", ""); err != nil {
		return nil, err
	}
	files[promoFile] = githubsim.Deleted
	current, err := secretValue(s.w.files[secretFile])
	if err != nil {
		return nil, err
	}
	if err := edit(secretFile, "password: "+current, "password: "+rotatedPassword); err != nil {
		return nil, err
	}
	return files, nil
}

func (s *story) open(ctx context.Context) error {
	s.t.Step("@%s opens a pull request", author)
	files, err := s.change()
	if err != nil {
		return err
	}
	s.t.Say("%q changes three files in deploy/base, which both overlays include:", prTitle)
	s.t.Pre(
		fmt.Sprintf("~ %-34s image %s → %s", webFile, oldImage, newImage),
		fmt.Sprintf("- %-34s the ConfigMap promo-banner, deleted (and dropped from kustomization.yaml)", promoFile),
		fmt.Sprintf("~ %-34s Secret db-credentials: a new password", secretFile),
	)
	if _, err := s.w.sim.Push(repo, branch, files, prTitle, author); err != nil {
		return err
	}
	if s.pr, err = s.w.sim.OpenPR(repo, branch, "main", prTitle, author); err != nil {
		return err
	}
	s.head = s.w.sim.PR(repo, s.pr).GetHead().GetSHA()
	s.t.Progress("… #%d opened at %s; slipway gets the webhook, renders the head and asks the cluster for a server-side dry run", s.pr, short(s.head))
	began := time.Now()
	for _, name := range []string{"slipway/plan: staging", "slipway/plan: production", "slipway/policy: staging"} {
		if _, err := s.w.completedRun(ctx, s.head, name); err != nil {
			return err
		}
	}
	var plan *github.IssueComment
	if err := s.w.waitFor(ctx, "the plan comment of "+short(s.head), func() bool {
		plan = s.w.sticky(s.pr)
		return plan != nil && strings.Contains(plan.GetBody(), short(s.head))
	}); err != nil {
		return err
	}
	s.t.Progress("✓ planned in %s: one comment, edited in place on every new plan, and check runs on the head", since(began))
	s.t.Markdown(fmt.Sprintf("%s commented on #%d: the plan", plan.GetUser().GetLogin(), s.pr), plan.GetBody())
	s.checks(s.head)
	return nil
}

// checks shows the latest check run of each name on sha.
func (s *story) checks(sha string) {
	rows := [][]string{{"Check run on " + short(sha), "Status", "Title"}}
	for _, cr := range s.w.checkRuns(sha) {
		state := cr.GetStatus()
		if state == "completed" {
			state = cr.GetConclusion()
		}
		rows = append(rows, []string{cr.GetName(), state, cr.GetOutput().GetTitle()})
	}
	s.t.Table(rows)
}

func (s *story) readerApplies(ctx context.Context) error {
	s.t.Step("@%s, who can only read the repository, comments /apply staging", reader)
	id, err := s.w.sim.Comment(repo, s.pr, reader, "/apply staging")
	if err != nil {
		return err
	}
	reply, err := s.w.replyAfter(ctx, s.pr, id, "slipway's answer to @"+reader)
	if err != nil {
		return err
	}
	for _, r := range s.w.sim.Reactions(repo, id) {
		if r.GetUser().GetLogin() == s.w.sim.BotLogin() {
			s.t.Progress("✓ %s reacted %s to the command at once", r.GetUser().GetLogin(), reaction(r.GetContent()))
		}
	}
	s.t.Markdown(fmt.Sprintf("%s replied on #%d", reply.GetUser().GetLogin(), s.pr), reply.GetBody())
	return nil
}

func (s *story) approve(ctx context.Context) error {
	s.t.Step("@%s approves the pull request", review)
	if _, err := s.w.sim.Review(repo, s.pr, review, "APPROVED"); err != nil {
		return err
	}
	s.t.Progress("… slipway re-evaluates staging's policy on the review")
	var run *github.CheckRun
	if err := s.w.waitFor(ctx, "slipway/policy: staging to pass", func() bool {
		run = s.w.checkRun(s.head, "slipway/policy: staging")
		return run != nil && run.GetConclusion() == "success"
	}); err != nil {
		return err
	}
	s.t.Markdown(fmt.Sprintf("check run %s on %s: %s · %s", run.GetName(), short(s.head), run.GetConclusion(), run.GetOutput().GetTitle()),
		run.GetOutput().GetSummary())
	return nil
}

func (s *story) apply(ctx context.Context) error {
	s.t.Step("@%s comments /apply staging", author)
	before := s.w.sticky(s.pr).GetBody()
	if _, err := s.w.sim.Comment(repo, s.pr, author, "/apply staging"); err != nil {
		return err
	}
	s.t.Progress("… slipway re-plans, checks the digest is the reviewed one, applies, prunes and waits for the rollout")
	began := time.Now()
	rec, err := s.w.settled(ctx, "staging", s.head)
	if err != nil {
		return err
	}
	if _, err := s.w.completedRun(ctx, s.head, "slipway/apply: staging"); err != nil {
		return err
	}
	var body string
	if err := s.w.waitFor(ctx, "the plan comment to show the apply", func() bool {
		body = s.w.sticky(s.pr).GetBody()
		return body != before && strings.Contains(body, "@"+author)
	}); err != nil {
		return err
	}
	s.t.Progress("✓ staging %s in %s", rec.state(), since(began))
	s.t.Say("The Deployment record slipway created (the repository's Environments tab shows it):")
	s.t.Pre(s.describe(rec)...)
	s.t.Markdown(fmt.Sprintf("%s edited its plan comment on #%d: the outcome, on top", s.w.sim.BotLogin(), s.pr), outcomePart(body))
	s.checks(s.head)
	return nil
}

// outcomePart is the apply's outcome, which slipway puts at the top of the
// plan comment between markers (publish.Outcome's outcomeStart and
// outcomeEnd); the whole comment if they are not found.
func outcomePart(body string) string {
	const start, end = "<!-- slipway:outcome -->", "<!-- /slipway:outcome -->"
	i := strings.Index(body, start)
	j := strings.Index(body, end)
	if i < 0 || j < i {
		return body
	}
	return strings.TrimSpace(body[i+len(start):j]) + "\n\n*(the plan follows, as before)*"
}

func (s *story) mergeIt(ctx context.Context) error {
	s.t.Step("@%s merges #%d", author, s.pr)
	last := int64(0)
	for _, c := range s.w.sim.Comments(repo, s.pr) {
		last = max(last, c.GetID())
	}
	var err error
	if s.merge, err = s.w.sim.Merge(repo, s.pr, author); err != nil {
		return err
	}
	s.t.Progress("… merged as %s; staging is before-merge and already applied, so the merge reconciles production", short(s.merge))
	began := time.Now()
	rec, err := s.w.settled(ctx, "production", s.merge)
	if err != nil {
		return err
	}
	reply, err := s.w.replyAfter(ctx, s.pr, last, "slipway's merge-to-deploy comment")
	if err != nil {
		return err
	}
	s.t.Progress("✓ production %s in %s", rec.state(), since(began))
	s.t.Markdown(fmt.Sprintf("%s commented on #%d", reply.GetUser().GetLogin(), s.pr), reply.GetBody())
	s.t.Pre(s.describe(rec)...)
	return nil
}

// describe lists a Deployment record and its statuses.
func (s *story) describe(r record) []string {
	d := r.d
	lines := []string{
		fmt.Sprintf("Deployment %d · environment %s · ref %s (%s) · task %s", d.GetID(), d.GetEnvironment(), short(d.GetRef()), s.refLabel(d.GetRef()), d.GetTask()),
		fmt.Sprintf("  created %s by %s: %s", clock(d.GetCreatedAt().Time), d.GetCreator().GetLogin(), d.GetDescription()),
	}
	var envURL, logURL string
	for _, st := range r.statuses {
		lines = append(lines, fmt.Sprintf("  %s  %-11s %s", clock(st.GetCreatedAt().Time), st.GetState(), st.GetDescription()))
		envURL = firstNonEmpty(st.GetEnvironmentURL(), envURL)
		logURL = firstNonEmpty(st.GetLogURL(), logURL)
	}
	if envURL != "" {
		lines = append(lines, "  environment_url "+envURL)
	}
	if logURL != "" {
		lines = append(lines, "  log_url         "+logURL)
	}
	return lines
}

func (s *story) refLabel(ref string) string {
	switch ref {
	case s.head:
		return fmt.Sprintf("head of #%d", s.pr)
	case s.merge:
		return fmt.Sprintf("main, the merge of #%d", s.pr)
	}
	return "main"
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func reaction(content string) string {
	if content == "eyes" {
		return "👀"
	}
	return ":" + content + ":"
}
