package ghtest

import (
	"context"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/gh"
)

// Helpers for tests: arrange the state the workflows read, and inspect
// what they wrote.

// SetPR adds or replaces a pull request.
func (f *Fake) SetPR(pr gh.PR) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prs[pr.Number] = pr
}

// SetPermission gives user a permission (admin, maintain, write, triage, read); unknown users have none.
func (f *Fake) SetPermission(user, perm string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.perms[user] = perm
}

// AddTeamMember puts user in org/team.
func (f *Fake) AddTeamMember(org, team, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.teams[org+"/"+team+"/"+user] = true
}

// AddComment is a comment by someone (not the bot) on a pull request; it returns its id.
func (f *Fake) AddComment(number int, author, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addComment(number, author, body)
}

func (f *Fake) addComment(number int, author, body string) int64 {
	id := f.id()
	f.comments = append(f.comments, gh.Comment{ID: id, Author: author, Body: body})
	f.commentPR[id] = number
	return id
}

// AddReview records a review of a pull request.
func (f *Fake) AddReview(number int, r gh.Review) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.SubmittedAt.IsZero() {
		r.SubmittedAt = f.tick()
	}
	f.reviews[number] = append(f.reviews[number], r)
}

// AddCheckRun records a check run made by app (another App's, or a
// pre-existing one of this App's); it returns its id.
func (f *Fake) AddCheckRun(sha string, app int64, st gh.CheckRunState) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	st.ID, st.AppID = f.id(), app
	if st.StartedAt.IsZero() {
		st.StartedAt = f.tick()
	}
	f.runs = append(f.runs, run{state: st, sha: sha})
	return st.ID
}

// SetDefaultBranch sets the default branch and its head.
func (f *Fake) SetDefaultBranch(branch, sha string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.branch, f.sha = branch, sha
}

// SetCompare sets what Compare(base, head) answers.
func (f *Fake) SetCompare(base, head string, c gh.Comparison) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.compares[base+"..."+head] = c
}

// SetParent makes parent the first parent of sha.
func (f *Fake) SetParent(sha, parent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parents[sha] = parent
}

// SetCommitAuthors sets a commit's author and committer logins.
func (f *Fake) SetCommitAuthors(sha, author, committer string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authors[sha] = [2]string{author, committer}
}

// --- inspecting writes ---

// CommentsOn is every comment on a pull request, oldest first.
func (f *Fake) CommentsOn(number int) []gh.Comment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []gh.Comment
	for _, c := range f.comments {
		if f.commentPR[c.ID] == number {
			out = append(out, c)
		}
	}
	return out
}

// Reactions are the reactions the bot left on a comment.
func (f *Fake) Reactions(commentID int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reactions[commentID])
}

// Runs is every check run at sha (of any App), newest first.
func (f *Fake) Runs(sha string) []gh.CheckRunState {
	runs, _ := f.CheckRuns(context.Background(), gh.Repo{}, sha, gh.AnyApp)
	return runs
}

// Annotations are the annotations sent for a check run.
func (f *Fake) Annotations(id int64) []gh.Annotation {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.state.ID == id {
			return slices.Clone(r.ann)
		}
	}
	return nil
}

// Deployment is a deployment as created, with its statuses oldest first.
type Deployment struct {
	gh.DeploymentRecord
	Payload  any
	Statuses []gh.DeploymentStatus
}

// Deployments is every deployment, oldest first.
func (f *Fake) Deployments() []Deployment {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Deployment, 0, len(f.deployments))
	for _, d := range f.deployments {
		out = append(out, Deployment{DeploymentRecord: f.record(d), Payload: d.d.Payload, Statuses: slices.Clone(d.statuses)})
	}
	return out
}

// BotComments are the bot's comments on a pull request, oldest first.
func (f *Fake) BotComments(number int) []gh.Comment {
	return slices.DeleteFunc(f.CommentsOn(number), func(c gh.Comment) bool { return !strings.EqualFold(c.Author, f.Bot) })
}
