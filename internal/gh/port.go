// Package gh is the small port through which slipway's workflows talk
// to GitHub: pull requests, permissions, comments, reactions, check runs.
// Workflows depend on the Port interface; Client implements it with
// go-github, and tests may substitute a fake.
package gh

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// Repo names a repository.
type Repo struct {
	Owner, Name string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseRepo splits "owner/name".
func ParseRepo(full string) (Repo, error) {
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" {
		return Repo{}, fmt.Errorf("repository %q is not owner/name", full)
	}
	return Repo{Owner: owner, Name: name}, nil
}

// PR is what workflows need of a pull request.
type PR struct {
	Number         int
	State          string // open | closed
	Draft, Merged  bool
	Author         string
	HeadSHA        string
	HeadRepo       string // owner/name; differs from the base repository for forks
	BaseSHA        string
	BaseRef        string
	MergeCommitSHA string
	// Mergeable is nil while GitHub is still computing it.
	Mergeable *bool
}

// Comment is an issue comment on a pull request.
type Comment struct {
	ID     int64
	Author string
	Body   string
}

// CheckRun is a check run to create or update.
type CheckRun struct {
	Name        string
	HeadSHA     string
	Status      string // queued | in_progress | completed
	Conclusion  string // success | failure | neutral | cancelled | skipped (when completed)
	ExternalID  string
	DetailsURL  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
}

// Annotation points a check run message at a file and line.
type Annotation struct {
	Path    string
	Line    int
	Level   string // notice | warning | failure
	Title   string
	Message string
}

// Port is GitHub as slipway's workflows see it.
type Port interface {
	PullRequest(ctx context.Context, repo Repo, number int) (*PR, error)
	Permission(ctx context.Context, repo Repo, user string) (string, error)
	React(ctx context.Context, repo Repo, commentID int64, content string) error
	Comments(ctx context.Context, repo Repo, number int) ([]Comment, error)
	CreateComment(ctx context.Context, repo Repo, number int, body string) (int64, error)
	EditComment(ctx context.Context, repo Repo, id int64, body string) error
	DeleteComment(ctx context.Context, repo Repo, id int64) error
	// CreateCheckRun returns the new run's id and its page on GitHub.
	CreateCheckRun(ctx context.Context, repo Repo, run CheckRun) (id int64, url string, err error)
	UpdateCheckRun(ctx context.Context, repo Repo, id int64, run CheckRun) error
	CheckRuns(ctx context.Context, repo Repo, sha string, app int64) ([]CheckRunState, error)
	CommitAuthors(ctx context.Context, repo Repo, sha string) (author, committer string, err error)
	Reviews(ctx context.Context, repo Repo, number int) ([]Review, error)
	TeamMember(ctx context.Context, org, team, user string) (bool, error)
	MergedPullRequest(ctx context.Context, repo Repo, sha string) (*PR, error)
	CreateDeployment(ctx context.Context, repo Repo, d Deployment) (int64, error)
	CreateDeploymentStatus(ctx context.Context, repo Repo, id int64, s DeploymentStatus) error
	OpenPullRequests(ctx context.Context, repo Repo) ([]PR, error)
	DefaultBranch(ctx context.Context, repo Repo) (branch, sha string, err error)
	RecentDeployments(ctx context.Context, repo Repo, n int) ([]DeploymentRecord, error)
	EnvironmentDeployments(ctx context.Context, repo Repo, env string, n int) ([]DeploymentRecord, error)
	Compare(ctx context.Context, repo Repo, base, head string) (*Comparison, error)
	FirstParent(ctx context.Context, repo Repo, sha string) (string, error)
}

// Client implements Port with an installation's go-github client.
type Client struct {
	gh *github.Client
}

// New wraps an installation client.
func New(gh *github.Client) *Client { return &Client{gh: gh} }

// GitHub exposes the underlying client for packages that need more of the
// API than the port (fetching archives).
func (c *Client) GitHub() *github.Client { return c.gh }

// PullRequest implements Port.
func (c *Client) PullRequest(ctx context.Context, repo Repo, number int) (*PR, error) {
	pr, _, err := c.gh.PullRequests.Get(ctx, repo.Owner, repo.Name, number)
	if err != nil {
		return nil, fmt.Errorf("get pull request %s#%d: %w", repo, number, err)
	}
	return prOf(pr), nil
}

func prOf(pr *github.PullRequest) *PR {
	return &PR{
		Number:         pr.GetNumber(),
		State:          pr.GetState(),
		Draft:          pr.GetDraft(),
		Merged:         pr.GetMerged(),
		Author:         pr.GetUser().GetLogin(),
		HeadSHA:        pr.GetHead().GetSHA(),
		HeadRepo:       pr.GetHead().GetRepo().GetFullName(),
		BaseSHA:        pr.GetBase().GetSHA(),
		BaseRef:        pr.GetBase().GetRef(),
		MergeCommitSHA: pr.GetMergeCommitSHA(),
		Mergeable:      pr.Mergeable,
	}
}

// Permission implements Port: admin, maintain, write, triage, read or none.
func (c *Client) Permission(ctx context.Context, repo Repo, user string) (string, error) {
	level, res, err := c.gh.Repositories.GetPermissionLevel(ctx, repo.Owner, repo.Name, user)
	if err != nil {
		if res != nil && res.StatusCode == 404 {
			return "none", nil
		}
		return "", fmt.Errorf("permission of %s on %s: %w", user, repo, err)
	}
	if role := level.GetUser().GetRoleName(); role != "" {
		return role, nil
	}
	return level.GetPermission(), nil
}

// React implements Port.
func (c *Client) React(ctx context.Context, repo Repo, commentID int64, content string) error {
	_, _, err := c.gh.Reactions.CreateIssueCommentReaction(ctx, repo.Owner, repo.Name, commentID, content)
	if err != nil {
		return fmt.Errorf("react to comment %d: %w", commentID, err)
	}
	return nil
}

// Comments implements Port, following every page.
func (c *Client) Comments(ctx context.Context, repo Repo, number int) ([]Comment, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var out []Comment
	for {
		page, res, err := c.gh.Issues.ListComments(ctx, repo.Owner, repo.Name, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list comments of %s#%d: %w", repo, number, err)
		}
		for _, cm := range page {
			out = append(out, Comment{ID: cm.GetID(), Author: cm.GetUser().GetLogin(), Body: cm.GetBody()})
		}
		if res.NextPage == 0 {
			return out, nil
		}
		opts.Page = res.NextPage
	}
}

// CreateComment implements Port. A comment whose answer was lost is looked
// for before it is posted again, so a 502 never leaves two.
func (c *Client) CreateComment(ctx context.Context, repo Repo, number int, body string) (int64, error) {
	var id int64
	start := time.Now()
	err := writeOnce(ctx, "comment", func() error {
		cm, _, err := c.gh.Issues.CreateComment(ctx, repo.Owner, repo.Name, number, &github.IssueComment{Body: github.String(body)})
		id = cm.GetID()
		return err
	}, func() (bool, error) {
		var err error
		id, err = c.findComment(ctx, repo, number, body, start)
		return id != 0, err
	})
	if err != nil {
		return 0, fmt.Errorf("comment on %s#%d: %w", repo, number, err)
	}
	return id, nil
}

// findComment is the id of a comment with body that a bot wrote since start.
func (c *Client) findComment(ctx context.Context, repo Repo, number int, body string, start time.Time) (int64, error) {
	since := start.Add(-clockSkew)
	opts := &github.IssueListCommentsOptions{Since: &since, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, res, err := c.gh.Issues.ListComments(ctx, repo.Owner, repo.Name, number, opts)
		if err != nil {
			return 0, err
		}
		for _, cm := range page {
			if cm.GetBody() == body && cm.GetUser().GetType() == "Bot" && after(cm.GetCreatedAt(), start) {
				return cm.GetID(), nil
			}
		}
		if res.NextPage == 0 {
			return 0, nil
		}
		opts.Page = res.NextPage
	}
}

// EditComment implements Port.
func (c *Client) EditComment(ctx context.Context, repo Repo, id int64, body string) error {
	if _, _, err := c.gh.Issues.EditComment(ctx, repo.Owner, repo.Name, id, &github.IssueComment{Body: github.String(body)}); err != nil {
		return fmt.Errorf("edit comment %d: %w", id, err)
	}
	return nil
}

// DeleteComment implements Port. A comment already gone counts as deleted:
// a delete repeated after a lost answer finds it so.
func (c *Client) DeleteComment(ctx context.Context, repo Repo, id int64) error {
	if res, err := c.gh.Issues.DeleteComment(ctx, repo.Owner, repo.Name, id); err != nil {
		if res != nil && res.StatusCode == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("delete comment %d: %w", id, err)
	}
	return nil
}

// GitHub accepts at most this many annotations per request.
const maxAnnotationsPerRequest = 50

// CreateCheckRun implements Port. Annotations beyond GitHub's 50 per request
// are sent in follow-up updates. A run whose answer was lost is looked for
// (by name, commit and the start time slipway gave it) before it is created
// again, so a 502 never leaves a second run spinning.
func (c *Client) CreateCheckRun(ctx context.Context, repo Repo, run CheckRun) (int64, string, error) {
	first, rest := splitAnnotations(run.Annotations)
	opts := github.CreateCheckRunOptions{
		Name:       run.Name,
		HeadSHA:    run.HeadSHA,
		Status:     optional(run.Status),
		Conclusion: optional(run.Conclusion),
		ExternalID: optional(run.ExternalID),
		DetailsURL: optional(run.DetailsURL),
		Output:     output(run, first),
	}
	// Whole seconds, as GitHub keeps them, so the run can be recognised.
	now := github.Timestamp{Time: time.Now().UTC().Truncate(time.Second)}
	if run.Status == "in_progress" || run.Status == "completed" {
		opts.StartedAt = &now
	}
	if run.Status == "completed" {
		opts.CompletedAt = &now
	}
	var cr *github.CheckRun
	err := writeOnce(ctx, "check run", func() error {
		var err error
		cr, _, err = c.gh.Checks.CreateCheckRun(ctx, repo.Owner, repo.Name, opts)
		return err
	}, func() (bool, error) {
		var err error
		cr, err = c.findCheckRun(ctx, repo, opts)
		return cr != nil, err
	})
	if err != nil {
		return 0, "", fmt.Errorf("create check run %q on %s: %w", run.Name, repo, err)
	}
	return cr.GetID(), cr.GetHTMLURL(), c.moreAnnotations(ctx, repo, cr.GetID(), run, rest)
}

// findCheckRun is the run that opts created, if it was.
func (c *Client) findCheckRun(ctx context.Context, repo Repo, opts github.CreateCheckRunOptions) (*github.CheckRun, error) {
	if opts.StartedAt == nil {
		return nil, nil // nothing tells it from an older run of the same name
	}
	list := &github.ListCheckRunsOptions{CheckName: github.String(opts.Name), Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, res, err := c.gh.Checks.ListCheckRunsForRef(ctx, repo.Owner, repo.Name, opts.HeadSHA, list)
		if err != nil {
			return nil, err
		}
		for _, cr := range page.CheckRuns {
			if cr.GetName() == opts.Name && cr.GetStatus() == opts.GetStatus() && cr.GetExternalID() == opts.GetExternalID() &&
				cr.StartedAt != nil && cr.StartedAt.Time.Equal(opts.StartedAt.Time) {
				return cr, nil
			}
		}
		if res.NextPage == 0 {
			return nil, nil
		}
		list.Page = res.NextPage
	}
}

// UpdateCheckRun implements Port. An update is repeated freely, except
// that GitHub appends annotations: one that carries them and lost its
// answer is checked for before it is sent again.
func (c *Client) UpdateCheckRun(ctx context.Context, repo Repo, id int64, run CheckRun) error {
	first, rest := splitAnnotations(run.Annotations)
	opts := github.UpdateCheckRunOptions{
		Name:       run.Name, // GitHub requires it on every update
		Status:     optional(run.Status),
		Conclusion: optional(run.Conclusion),
		ExternalID: optional(run.ExternalID),
		DetailsURL: optional(run.DetailsURL),
		Output:     output(run, first),
	}
	if run.Status == "completed" {
		opts.CompletedAt = &github.Timestamp{Time: time.Now()}
	}
	update := func() error {
		_, _, err := c.gh.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, opts)
		return err
	}
	var err error
	if len(first) == 0 {
		err = update()
	} else {
		err = writeOnce(ctx, "check run update", update, func() (bool, error) {
			cr, _, err := c.gh.Checks.GetCheckRun(ctx, repo.Owner, repo.Name, id)
			if err != nil {
				return false, err
			}
			return (opts.Status == nil || cr.GetStatus() == *opts.Status) &&
				(opts.Conclusion == nil || cr.GetConclusion() == *opts.Conclusion) &&
				(opts.ExternalID == nil || cr.GetExternalID() == *opts.ExternalID) &&
				cr.GetOutput().GetTitle() == opts.Output.GetTitle(), nil
		})
	}
	if err != nil {
		return fmt.Errorf("update check run %q on %s: %w", run.Name, repo, err)
	}
	return c.moreAnnotations(ctx, repo, id, run, rest)
}

// moreAnnotations sends annotations past the first 50, a batch at a time,
// checking the run's annotation count before repeating a batch whose
// answer was lost.
func (c *Client) moreAnnotations(ctx context.Context, repo Repo, id int64, run CheckRun, rest []Annotation) error {
	if len(rest) == 0 {
		return nil
	}
	cr, _, err := c.gh.Checks.GetCheckRun(ctx, repo.Owner, repo.Name, id)
	if err != nil {
		return fmt.Errorf("annotate check run %q: %w", run.Name, err)
	}
	have := cr.GetOutput().GetAnnotationsCount()
	for len(rest) > 0 {
		var batch []Annotation
		batch, rest = splitAnnotations(rest)
		opts := github.UpdateCheckRunOptions{Name: run.Name, Output: output(run, batch)}
		want := have + len(batch)
		err := writeOnce(ctx, "check run annotations", func() error {
			_, _, err := c.gh.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, opts)
			return err
		}, func() (bool, error) {
			cr, _, err := c.gh.Checks.GetCheckRun(ctx, repo.Owner, repo.Name, id)
			return err == nil && cr.GetOutput().GetAnnotationsCount() >= want, err
		})
		if err != nil {
			return fmt.Errorf("annotate check run %q: %w", run.Name, err)
		}
		have = want
	}
	return nil
}

func splitAnnotations(all []Annotation) (first, rest []Annotation) {
	if len(all) <= maxAnnotationsPerRequest {
		return all, nil
	}
	return all[:maxAnnotationsPerRequest], all[maxAnnotationsPerRequest:]
}

func output(run CheckRun, annotations []Annotation) *github.CheckRunOutput {
	if run.Title == "" && run.Summary == "" {
		return nil
	}
	out := &github.CheckRunOutput{Title: github.String(run.Title), Summary: github.String(run.Summary)}
	if run.Text != "" {
		out.Text = github.String(run.Text)
	}
	for _, a := range annotations {
		line := max(a.Line, 1)
		out.Annotations = append(out.Annotations, &github.CheckRunAnnotation{
			Path:            github.String(a.Path),
			StartLine:       github.Int(line),
			EndLine:         github.Int(line),
			AnnotationLevel: github.String(a.Level),
			Title:           optional(a.Title),
			Message:         github.String(a.Message),
		})
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
