package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// driver plays the people and GitHub around acme/shop. Its choices depend
// only on its seed and on what it did before, never on what slipway
// answered, so a seed replays the same story (timing aside).
type driver struct {
	w      *world
	j      *journal
	rng    *rand.Rand
	ch     *changes
	pulls  []*pull
	branch int
	log    func(format string, args ...any)
}

// pull is the driver's view of a pull request it opened.
type pull struct {
	number         int
	branch, author string
	base           string
	fork, hostile  bool
	open, merged   bool
}

// action is one kind of event with its weight in the random mix.
type action struct {
	kind   string
	weight int
	do     func(context.Context) error
}

func newDriver(w *world, j *journal, seed uint64, log func(string, ...any)) *driver {
	d := &driver{w: w, j: j, rng: rand.New(rand.NewPCG(seed, 0xd21e)), log: log}
	d.ch = &changes{rng: d.rng, secret: j.secret}
	return d
}

func (d *driver) actions() []action {
	return []action{
		{"open-pr", 10, d.openPR},
		{"push", 8, d.push},
		{"force-push", 3, d.forcePush},
		{"approve", 12, d.approve},
		{"dismiss-review", 2, d.dismiss},
		{"/plan", 3, func(ctx context.Context) error { return d.slash(ctx, "/plan") }},
		{"/apply", 8, func(ctx context.Context) error { return d.slash(ctx, "/apply staging") }},
		{"reviewed-apply", 6, d.reviewedApply},
		{"/unlock", 2, func(ctx context.Context) error { return d.slash(ctx, "/unlock") }},
		{"/rollback", 2, func(ctx context.Context) error { return d.slash(ctx, "/rollback production") }},
		{"merge", 7, d.merge},
		{"two-merges", 2, d.twoMerges},
		{"close", 2, d.closePR},
		{"reopen", 2, d.reopen},
		{"reader-comment", 3, d.readerComment},
		{"pr-into-other-branch", 1, d.otherBranchPR},
		{"fork-pr", 1, d.forkPR},
		{"hostile-pr", 1, d.hostilePR},
		{"foreign-check-run", 2, d.foreignCheck},
		{"direct-push", 3, d.directPush},
		{"drift", 3, d.drift},
		{"other-repo-push", 1, d.otherRepoPush},
	}
}

// run plays random events until ctx ends, after the tour.
func (d *driver) run(ctx context.Context) {
	acts := d.actions()
	total := 0
	for _, a := range acts {
		total += a.weight
	}
	for ctx.Err() == nil {
		n := d.rng.IntN(total)
		var a action
		for _, a = range acts {
			if n -= a.weight; n < 0 {
				break
			}
		}
		d.perform(ctx, a.kind, a.do)
		pause := time.Duration(800+d.rng.IntN(2000)) * time.Millisecond
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// perform does one event and journals it: done, refused by GitHub (a
// conflicting merge, nothing to act on), or delivered to a front that lost
// it, which is the fault injector's business.
func (d *driver) perform(ctx context.Context, kind string, do func(context.Context) error) {
	err := do(ctx)
	var lost *githubsim.DeliveryError
	switch {
	case errors.Is(err, errNothing):
		return
	case err == nil, errors.As(err, &lost):
		d.j.event(kind)
	default:
		d.j.refusal(kind)
		d.log("event %s refused: %v", kind, err)
	}
}

// errNothing: the event had nothing to act on (no open pull request).
var errNothing = errors.New("nothing to act on")

func (d *driver) writer() string { return writers[d.rng.IntN(len(writers))] }

// someone is a writer other than not.
func (d *driver) someone(not string) string {
	for {
		if u := d.writer(); u != not {
			return u
		}
	}
}

// openPull picks an open pull request into main of the repository itself.
func (d *driver) openPull() *pull {
	var open []*pull
	for _, p := range d.pulls {
		if p.open && !p.fork && p.base == "main" {
			open = append(open, p)
		}
	}
	if len(open) == 0 {
		return nil
	}
	return open[d.rng.IntN(len(open))]
}

func (d *driver) someEnvs() []string {
	envs := slices.Clone(envOrder)
	d.rng.Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })
	return envs[:1+d.rng.IntN(2)]
}

func (d *driver) newBranch(prefix string) string {
	d.branch++
	return fmt.Sprintf("%s-%d", prefix, d.branch)
}

// open pushes files to a new branch and opens a pull request from it,
// unless maxOpen are open already.
func (d *driver) open(o githubsim.PROptions, files map[string]string) (*pull, error) {
	open := 0
	for _, p := range d.pulls {
		if p.open {
			open++
		}
	}
	if open >= maxOpen {
		return nil, errNothing
	}
	sha, err := d.w.sim.Push(shop, o.Head, files, "change", o.User)
	if err != nil && !isLost(err) {
		return nil, err
	}
	d.j.pushed(sha, o.User)
	n, err := d.w.sim.OpenPRWith(shop, o)
	if n == 0 {
		return nil, err
	}
	p := &pull{number: n, branch: o.Head, author: o.User, base: orMain(o.Base), fork: o.Fork != "", open: true}
	d.pulls = append(d.pulls, p)
	return p, err
}

func (d *driver) openPR(context.Context) error {
	user := d.writer()
	_, err := d.open(githubsim.PROptions{Head: d.newBranch("change"), Title: "a change", User: user}, d.ch.edit(d.someEnvs()...))
	return err
}

func (d *driver) hostilePR(context.Context) error {
	user := d.writer()
	p, err := d.open(githubsim.PROptions{Head: d.newBranch("escape"), Title: "an object outside the allowed namespaces", User: user},
		map[string]string{"deploy/staging/escape.yaml": escapeYAML(d.ch.token())})
	if p != nil {
		p.hostile = true
	}
	return err
}

func (d *driver) otherBranchPR(context.Context) error {
	user := d.writer()
	p, err := d.open(githubsim.PROptions{Head: d.newBranch("to-release"), Base: "release", Title: "into release", User: user}, d.ch.edit("staging"))
	if p == nil {
		return err
	}
	return errors.Join(err, d.comment(p.number, d.someone(user), "/apply staging"))
}

func (d *driver) forkPR(context.Context) error {
	p, err := d.open(githubsim.PROptions{Head: d.newBranch("fork"), Fork: "mallory", Title: "from a fork", User: "mallory"}, d.ch.edit("staging"))
	if p == nil {
		return err
	}
	// A writer falls for it: approves and applies.
	_, rerr := d.w.sim.Review(shop, p.number, d.writer(), "APPROVED")
	return errors.Join(err, rerr, d.comment(p.number, d.writer(), "/apply staging"))
}

func (d *driver) push(context.Context) error {
	p := d.openPull()
	if p == nil {
		return errNothing
	}
	user := d.writer()
	sha, err := d.w.sim.Push(shop, p.branch, d.ch.edit(d.someEnvs()...), "more", user)
	if sha != "" {
		d.j.pushed(sha, user)
	}
	return err
}

func (d *driver) forcePush(context.Context) error {
	p := d.openPull()
	if p == nil || p.hostile {
		return errNothing
	}
	user := d.writer()
	sha, err := d.w.sim.ForcePush(shop, p.branch, "", d.ch.edit(d.someEnvs()...), "rewrite", user)
	if sha != "" {
		d.j.pushed(sha, user)
	}
	return err
}

func (d *driver) approve(context.Context) error {
	p := d.openPull()
	if p == nil {
		return errNothing
	}
	// Now and then the author or the last pusher tries: GitHub refuses
	// the author; the pusher's approval must not count.
	user := d.writer()
	id, err := d.w.sim.Review(shop, p.number, user, "APPROVED")
	if id != 0 {
		d.j.approved(id, p.number, user)
	}
	return err
}

// reviewedApply takes a planned pull request through review as a team
// would: someone other than its author and its last pusher approves the
// head, and the author asks for /apply staging. (Which pull request is
// ready depends on slipway's pace, not only on the seed.)
func (d *driver) reviewedApply(ctx context.Context) error {
	p := d.holderOr(ctx, d.openPull())
	if p == nil || p.hostile {
		return errNothing
	}
	head := d.w.sim.PR(shop, p.number).GetHead().GetSHA()
	if !d.w.completedRun(head, "slipway/plan: staging") {
		return errNothing
	}
	pusher := d.j.pusherOf(head)
	var reviewers []string
	for _, u := range writers {
		if u != p.author && u != pusher {
			reviewers = append(reviewers, u)
		}
	}
	if len(reviewers) == 0 {
		return errNothing
	}
	user := reviewers[d.rng.IntN(len(reviewers))]
	id, err := d.w.sim.Review(shop, p.number, user, "APPROVED")
	if id != 0 {
		d.j.approved(id, p.number, user)
	}
	return errors.Join(err, d.comment(p.number, p.author, "/apply staging"))
}

// holderOr is the open pull request holding staging's lock, which the
// team works on first, or else p.
func (d *driver) holderOr(ctx context.Context, p *pull) *pull {
	n := d.w.lockHolder(ctx, "staging")
	for _, q := range d.pulls {
		if q.number == n && q.open {
			return q
		}
	}
	return p
}

func (d *driver) dismiss(context.Context) error {
	p := d.openPull()
	if p == nil {
		return errNothing
	}
	for _, r := range d.w.sim.Reviews(shop, p.number) {
		if r.GetState() == "APPROVED" {
			d.j.dismiss(r.GetID())
			return d.w.sim.DismissReview(shop, p.number, r.GetID(), d.writer(), "stale")
		}
	}
	return errNothing
}

func (d *driver) comment(pr int, user, text string) error {
	d.j.commented(pr, user, text)
	_, err := d.w.sim.Comment(shop, pr, user, text)
	return err
}

func (d *driver) slash(_ context.Context, text string) error {
	p := d.openPull()
	if p == nil {
		return errNothing
	}
	return d.comment(p.number, d.writer(), text)
}

func (d *driver) readerComment(context.Context) error {
	p := d.openPull()
	if p == nil {
		return errNothing
	}
	text := []string{"/apply staging", "looks good to me", "/unlock staging", "/rollback production"}[d.rng.IntN(4)]
	return d.comment(p.number, reader, text)
}

func (d *driver) mergeOne(p *pull) error {
	sha, err := d.w.sim.Merge(shop, p.number, d.writer())
	if sha == "" && err != nil && !isLost(err) {
		return err
	}
	p.open, p.merged = false, true
	return err
}

// merge merges a pull request; one that conflicts with main is rebased
// instead (a force-push onto main), as its author would, and merged later.
func (d *driver) merge(ctx context.Context) error {
	p := d.openPull()
	if d.rng.IntN(2) == 0 {
		p = d.holderOr(ctx, p)
	}
	if p == nil {
		return errNothing
	}
	err := d.mergeOne(p)
	if err != nil && strings.Contains(err.Error(), "not mergeable") && !p.hostile {
		d.j.refusal("merge")
		d.perform(ctx, "rebase-after-conflict", func(context.Context) error {
			sha, err := d.w.sim.ForcePush(shop, p.branch, "", d.ch.edit(d.someEnvs()...), "rebase", p.author)
			if sha != "" {
				d.j.pushed(sha, p.author)
			}
			return err
		})
		return errNothing
	}
	return err
}

// twoMerges merges two pull requests at the same moment: two deploy
// passes race for the same environments.
func (d *driver) twoMerges(context.Context) error {
	a, b := d.openPull(), d.openPull()
	if a == nil || b == nil || a == b {
		return errNothing
	}
	errs := make(chan error, 2)
	go func() { errs <- d.mergeOne(a) }()
	go func() { errs <- d.mergeOne(b) }()
	return errors.Join(<-errs, <-errs)
}

func (d *driver) closePR(context.Context) error {
	p := d.openPull()
	if p == nil {
		return errNothing
	}
	p.open = false
	return d.w.sim.ClosePR(shop, p.number, p.author)
}

func (d *driver) reopen(context.Context) error {
	var closed []*pull
	for _, p := range d.pulls {
		if !p.open && !p.merged && !p.fork && p.base == "main" {
			closed = append(closed, p)
		}
	}
	if len(closed) == 0 {
		return errNothing
	}
	p := closed[d.rng.IntN(len(closed))]
	err := d.w.sim.ReopenPR(shop, p.number, p.author)
	if err == nil || isLost(err) {
		p.open = true
	}
	return err
}

// foreignCheck is another App posting check runs named like slipway's,
// all green: they must count for nothing.
func (d *driver) foreignCheck(context.Context) error {
	p := d.openPull()
	if p == nil {
		return errNothing
	}
	pr := d.w.sim.PR(shop, p.number)
	app := githubsim.OtherApp{ID: 4242, Slug: "impostor"}
	var errs []error
	for _, name := range []string{"slipway/plan: staging", "slipway/policy: staging"} {
		_, err := d.w.sim.CreateCheckRunAs(app, shop, githubsim.OtherCheckRun{Name: name, HeadSHA: pr.GetHead().GetSHA(),
			Conclusion: "success", ExternalID: "sha256:" + strings.Repeat("f", 64), Title: "all good"})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (d *driver) directPush(context.Context) error {
	envs := d.someEnvs()
	if d.rng.IntN(2) == 0 {
		envs = slices.DeleteFunc(envs, func(e string) bool { return e == "staging" })
		if len(envs) == 0 {
			envs = []string{"extra"}
		}
	}
	return d.pushMain(envs...)
}

func (d *driver) pushMain(envs ...string) error {
	user := d.writer()
	sha, err := d.w.sim.Push(shop, "main", d.ch.edit(envs...), "direct push", user)
	if sha != "" {
		d.j.pushed(sha, user)
	}
	return err
}

// drift is a hand edit of a live object slipway manages.
func (d *driver) drift(ctx context.Context) error {
	env := []string{"production", "extra"}[d.rng.IntN(2)]
	ns := envNamespaces[env]
	patch := fmt.Sprintf(`{"data":{"version":"hand-edit-%s"}}`, d.ch.token())
	return d.w.patchConfigMap(ctx, ns, "app", patch)
}

func (d *driver) otherRepoPush(context.Context) error {
	_, err := d.w.sim.Push(otherRepo, "main", map[string]string{
		"deploy/app.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other-app\ndata:\n  version: %q\n", d.ch.token()),
	}, "other change", owner)
	return err
}

func isLost(err error) bool {
	var lost *githubsim.DeliveryError
	return errors.As(err, &lost)
}

func orMain(branch string) string {
	if branch == "" {
		return "main"
	}
	return branch
}
