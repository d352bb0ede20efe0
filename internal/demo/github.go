package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/gh/publish"
	testworld "github.com/slipwayhq/slipway/internal/testkit/world"
)

// What the story reads back from githubsim: only what slipway sent it.

// waitTimeout bounds every wait of the story; each is normally seconds.
const waitTimeout = 90 * time.Second

// waitFor polls cond until it holds; it fails when slipway exits, ctx ends
// or waitTimeout passes, saying what it waited for.
func (w *world) waitFor(ctx context.Context, what string, cond func() bool) error {
	err := testworld.Wait(ctx, waitTimeout, what, func() (bool, error) {
		if cond() {
			return true, nil
		}
		if done, err := w.server.Exited(); done {
			return false, fmt.Errorf("%w (%v) while waiting for %s\n%s", errExited, err, what, logTail(w.server))
		}
		return false, nil
	})
	if errors.Is(err, testworld.ErrTimeout) {
		return fmt.Errorf("%w\n%s", err, logTail(w.server))
	}
	return err
}

// sticky is slipway's plan comment on pull request n, or nil.
func (w *world) sticky(n int) *github.IssueComment {
	for _, c := range w.github.SlipwayComments(n) {
		if strings.HasPrefix(c.GetBody(), publish.PlanMarker) {
			return c
		}
	}
	return nil
}

// replies are slipway's comments on n other than the plan, oldest first.
func (w *world) replies(n int) []*github.IssueComment {
	var out []*github.IssueComment
	for _, c := range w.github.SlipwayComments(n) {
		if !strings.HasPrefix(c.GetBody(), publish.PlanMarker) {
			out = append(out, c)
		}
	}
	return out
}

// replyAfter waits for slipway's first reply on n after comment id and
// returns it.
func (w *world) replyAfter(ctx context.Context, n int, id int64, what string) (*github.IssueComment, error) {
	var got *github.IssueComment
	err := w.waitFor(ctx, what, func() bool {
		for _, c := range w.replies(n) {
			if c.GetID() > id {
				got = c
				return true
			}
		}
		return false
	})
	return got, err
}

// checkRuns are the latest check run of each name on sha, in the order
// the names first appeared.
func (w *world) checkRuns(sha string) []*github.CheckRun {
	var out []*github.CheckRun
	for _, cr := range w.sim.CheckRuns(repo) {
		if cr.GetHeadSHA() != sha {
			continue
		}
		if i := slices.IndexFunc(out, func(o *github.CheckRun) bool { return o.GetName() == cr.GetName() }); i >= 0 {
			if cr.GetID() > out[i].GetID() {
				out[i] = cr
			}
			continue
		}
		out = append(out, cr)
	}
	return out
}

// checkRun is the latest run named name on sha, or nil.
func (w *world) checkRun(sha, name string) *github.CheckRun {
	for _, cr := range w.checkRuns(sha) {
		if cr.GetName() == name {
			return cr
		}
	}
	return nil
}

// completedRun waits until the latest run named name on sha completed.
func (w *world) completedRun(ctx context.Context, sha, name string) (*github.CheckRun, error) {
	var got *github.CheckRun
	err := w.waitFor(ctx, fmt.Sprintf("check run %q on %s", name, short(sha)), func() bool {
		got = w.checkRun(sha, name)
		return got != nil && got.GetStatus() == "completed"
	})
	return got, err
}

// record is a Deployment with its statuses, oldest first.
type record struct {
	d        *github.Deployment
	statuses []*github.DeploymentStatus
}

func (r record) state() string {
	if len(r.statuses) == 0 {
		return "pending"
	}
	return r.statuses[len(r.statuses)-1].GetState()
}

// finished is when the deployment reached its outcome (success, failure,
// error), or the zero time.
func (r record) finished() time.Time {
	for _, s := range r.statuses {
		switch s.GetState() {
		case "success", "failure", "error":
			return s.GetCreatedAt().Time
		}
	}
	return time.Time{}
}

func (r record) done() bool { return !r.finished().IsZero() }

// deployments are the repository's Deployment records, oldest first.
func (w *world) deployments() []record {
	var out []record
	for _, d := range w.sim.Deployments(repo) {
		st := w.sim.DeploymentStatuses(repo, d.GetID())
		slices.SortFunc(st, func(a, b *github.DeploymentStatus) int { return int(a.GetID() - b.GetID()) })
		out = append(out, record{d: d, statuses: st})
	}
	slices.SortFunc(out, func(a, b record) int { return int(a.d.GetID() - b.d.GetID()) })
	return out
}

// settled waits until env has a finished Deployment at ref and returns it.
func (w *world) settled(ctx context.Context, env, ref string) (record, error) {
	var got record
	err := w.waitFor(ctx, fmt.Sprintf("the %s deployment of %s to finish", env, short(ref)), func() bool {
		for _, r := range w.deployments() {
			if r.d.GetEnvironment() == env && r.d.GetRef() == ref && r.done() {
				got = r
				return true
			}
		}
		return false
	})
	return got, err
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func clock(t time.Time) string { return t.Local().Format("15:04:05") }
