// Package ghtest is an in-memory fake of gh.Port for unit tests of the
// workflows: no HTTP, no simulator. Tests arrange state with the Set/Add
// helpers and inspect what was written with the accessors; every method is
// safe for concurrent use, as the workflows publish from several goroutines.
package ghtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/gh"
)

// Fake is an in-memory GitHub for one or more repositories.
type Fake struct {
	// Bot is the login that the fake's writes are made by (comments,
	// deployments); AppID is the App that its check runs belong to.
	Bot   string
	AppID int64

	mu          sync.Mutex
	now         time.Time
	nextID      int64
	prs         map[int]gh.PR
	perms       map[string]string
	teams       map[string]bool // org/team/user
	comments    []gh.Comment
	commentPR   map[int64]int
	reactions   map[int64][]string
	runs        []run // oldest first
	reviews     map[int][]gh.Review
	deployments []deployment // oldest first
	branch, sha string
	compares    map[string]gh.Comparison // base...head
	parents     map[string]string
	authors     map[string][2]string
}

type run struct {
	state gh.CheckRunState
	sha   string
	ann   []gh.Annotation
}

type deployment struct {
	rec      gh.DeploymentRecord
	d        gh.Deployment
	statuses []gh.DeploymentStatus // newest last
}

// New is a fake whose writes are by bot and whose check runs are app's,
// with default branch main at sha "main-head".
func New(bot string, app int64) *Fake {
	return &Fake{
		Bot: bot, AppID: app,
		now:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		prs:       map[int]gh.PR{},
		perms:     map[string]string{},
		teams:     map[string]bool{},
		commentPR: map[int64]int{},
		reactions: map[int64][]string{},
		reviews:   map[int][]gh.Review{},
		branch:    "main", sha: "main-head",
		compares: map[string]gh.Comparison{},
		parents:  map[string]string{},
		authors:  map[string][2]string{},
	}
}

var _ gh.Port = (*Fake)(nil)

// tick is a strictly increasing clock, so "newest" is well defined. Callers hold mu.
func (f *Fake) tick() time.Time {
	f.now = f.now.Add(time.Second)
	return f.now
}

func (f *Fake) id() int64 {
	f.nextID++
	return f.nextID
}

// --- gh.Port ---

// PullRequest implements gh.Port.
func (f *Fake) PullRequest(_ context.Context, repo gh.Repo, number int) (*gh.PR, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr, ok := f.prs[number]
	if !ok {
		return nil, fmt.Errorf("get pull request %s#%d: 404 Not Found", repo, number)
	}
	return &pr, nil
}

// Permission implements gh.Port.
func (f *Fake) Permission(_ context.Context, _ gh.Repo, user string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.perms[user]; ok {
		return p, nil
	}
	return "none", nil
}

// React implements gh.Port.
func (f *Fake) React(_ context.Context, _ gh.Repo, commentID int64, content string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.commentPR[commentID]; !ok {
		return fmt.Errorf("react to comment %d: 404 Not Found", commentID)
	}
	f.reactions[commentID] = append(f.reactions[commentID], content)
	return nil
}

// Comments implements gh.Port.
func (f *Fake) Comments(_ context.Context, _ gh.Repo, number int) ([]gh.Comment, error) {
	return f.CommentsOn(number), nil
}

// CreateComment implements gh.Port: the comment is the bot's.
func (f *Fake) CreateComment(_ context.Context, _ gh.Repo, number int, body string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addComment(number, f.Bot, body), nil
}

// EditComment implements gh.Port.
func (f *Fake) EditComment(_ context.Context, _ gh.Repo, id int64, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.comments {
		if f.comments[i].ID == id {
			f.comments[i].Body = body
			return nil
		}
	}
	return fmt.Errorf("edit comment %d: 404 Not Found", id)
}

// DeleteComment implements gh.Port; a comment already gone counts as deleted.
func (f *Fake) DeleteComment(_ context.Context, _ gh.Repo, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.comments = slices.DeleteFunc(f.comments, func(c gh.Comment) bool { return c.ID == id })
	delete(f.commentPR, id)
	return nil
}

// CreateCheckRun implements gh.Port: the run is the fake's App's.
func (f *Fake) CreateCheckRun(_ context.Context, repo gh.Repo, cr gh.CheckRun) (int64, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := gh.CheckRunState{ID: f.id(), AppID: f.AppID}
	t := f.tick()
	if cr.Status == "in_progress" || cr.Status == "completed" {
		st.StartedAt = t
	}
	r := run{state: st, sha: cr.HeadSHA}
	apply(&r, cr, t)
	st = r.state
	r.state.URL = fmt.Sprintf("https://github.com/%s/runs/%d", repo, st.ID)
	f.runs = append(f.runs, r)
	return st.ID, r.state.URL, nil
}

// UpdateCheckRun implements gh.Port.
func (f *Fake) UpdateCheckRun(_ context.Context, _ gh.Repo, id int64, cr gh.CheckRun) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.runs {
		if f.runs[i].state.ID == id {
			apply(&f.runs[i], cr, f.tick())
			return nil
		}
	}
	return fmt.Errorf("update check run %d: 404 Not Found", id)
}

// apply sets what cr gives, as GitHub does: empty fields are left alone,
// annotations are appended.
func apply(r *run, cr gh.CheckRun, now time.Time) {
	s := &r.state
	s.Name = orKeep(cr.Name, s.Name)
	s.Status = orKeep(cr.Status, s.Status)
	s.Conclusion = orKeep(cr.Conclusion, s.Conclusion)
	if cr.Conclusion != "" {
		s.Status = "completed"
	}
	if s.Status == "" {
		s.Status = "queued"
	}
	if s.Status == "completed" && s.CompletedAt.IsZero() {
		s.CompletedAt = now
	}
	s.ExternalID = orKeep(cr.ExternalID, s.ExternalID)
	if cr.Title != "" || cr.Summary != "" {
		s.Title, s.Summary, s.Text = cr.Title, cr.Summary, cr.Text
	}
	r.ann = append(r.ann, cr.Annotations...)
}

func orKeep(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// CheckRuns implements gh.Port: newest first, only app's unless AnyApp.
func (f *Fake) CheckRuns(_ context.Context, _ gh.Repo, sha string, app int64) ([]gh.CheckRunState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []gh.CheckRunState
	for i := len(f.runs) - 1; i >= 0; i-- {
		r := f.runs[i]
		if r.sha == sha && (app == gh.AnyApp || r.state.AppID == app) {
			out = append(out, r.state)
		}
	}
	return out, nil
}

// CommitAuthors implements gh.Port.
func (f *Fake) CommitAuthors(_ context.Context, _ gh.Repo, sha string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.authors[sha]
	return a[0], a[1], nil
}

// Reviews implements gh.Port.
func (f *Fake) Reviews(_ context.Context, _ gh.Repo, number int) ([]gh.Review, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reviews[number]), nil
}

// TeamMember implements gh.Port.
func (f *Fake) TeamMember(_ context.Context, org, team, user string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.teams[org+"/"+team+"/"+user], nil
}

// MergedPullRequest implements gh.Port: the merged pull request whose
// merge commit is sha, or nil.
func (f *Fake) MergedPullRequest(_ context.Context, _ gh.Repo, sha string) (*gh.PR, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, pr := range f.prs {
		if pr.Merged && pr.MergeCommitSHA == sha {
			return &pr, nil
		}
	}
	return nil, nil
}

// CreateDeployment implements gh.Port: the deployment is the bot's.
func (f *Fake) CreateDeployment(_ context.Context, _ gh.Repo, d gh.Deployment) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := gh.DeploymentRecord{ID: f.id(), Environment: d.Environment, Ref: d.Ref, Created: f.tick(), Creator: f.Bot}
	// The payload goes through JSON as it does on GitHub, so a test sees what GitHub would keep.
	var payload struct {
		Tool       string `json:"tool"`
		RollbackOf string `json:"rollback_of"`
	}
	if b, err := json.Marshal(d.Payload); err == nil && json.Unmarshal(b, &payload) == nil {
		rec.Tool, rec.RollbackOf = payload.Tool, payload.RollbackOf
	}
	f.deployments = append(f.deployments, deployment{rec: rec, d: d})
	return rec.ID, nil
}

// CreateDeploymentStatus implements gh.Port.
func (f *Fake) CreateDeploymentStatus(_ context.Context, _ gh.Repo, id int64, s gh.DeploymentStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.deployments {
		if f.deployments[i].rec.ID == id {
			f.deployments[i].statuses = append(f.deployments[i].statuses, s)
			return nil
		}
	}
	return fmt.Errorf("deployment %d status %s: 404 Not Found", id, s.State)
}

// record is a deployment with its newest status. Callers hold mu.
func (f *Fake) record(d deployment) gh.DeploymentRecord {
	rec := d.rec
	if n := len(d.statuses); n > 0 {
		rec.State, rec.Description = d.statuses[n-1].State, d.statuses[n-1].Description
	}
	return rec
}

// OpenPullRequests implements gh.Port, in number order.
func (f *Fake) OpenPullRequests(context.Context, gh.Repo) ([]gh.PR, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []gh.PR
	for _, pr := range f.prs {
		if pr.State == "open" {
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b gh.PR) int { return a.Number - b.Number })
	return out, nil
}

// DefaultBranch implements gh.Port.
func (f *Fake) DefaultBranch(context.Context, gh.Repo) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.branch, f.sha, nil
}

// RecentDeployments implements gh.Port: newest first.
func (f *Fake) RecentDeployments(_ context.Context, _ gh.Repo, n int) ([]gh.DeploymentRecord, error) {
	return f.deploymentsWhere(n, func(gh.DeploymentRecord) bool { return true }), nil
}

// EnvironmentDeployments implements gh.Port: newest first.
func (f *Fake) EnvironmentDeployments(_ context.Context, _ gh.Repo, env string, n int) ([]gh.DeploymentRecord, error) {
	return f.deploymentsWhere(n, func(r gh.DeploymentRecord) bool { return r.Environment == env }), nil
}

func (f *Fake) deploymentsWhere(n int, keep func(gh.DeploymentRecord) bool) []gh.DeploymentRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	n = min(max(n, 1), 100)
	var out []gh.DeploymentRecord
	for i := len(f.deployments) - 1; i >= 0 && len(out) < n; i-- {
		if rec := f.record(f.deployments[i]); keep(rec) {
			out = append(out, rec)
		}
	}
	return out
}

// Compare implements gh.Port with what SetCompare arranged; equal
// commits are "identical"; anything else is an error, as GitHub's 404 for
// an unknown commit.
func (f *Fake) Compare(_ context.Context, repo gh.Repo, base, head string) (*gh.Comparison, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.compares[base+"..."+head]; ok {
		c.Files = slices.Clone(c.Files)
		return &c, nil
	}
	if base == head {
		return &gh.Comparison{Status: "identical", Complete: true}, nil
	}
	return nil, fmt.Errorf("compare %s...%s in %s: 404 Not Found (not arranged with SetCompare)", base, head, repo)
}

// FirstParent implements gh.Port; a commit without one arranged has no parent.
func (f *Fake) FirstParent(_ context.Context, _ gh.Repo, sha string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parents[sha], nil
}
