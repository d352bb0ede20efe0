package gh

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"
)

// Review is a pull request review as policy weighs it.
type Review struct {
	User        string
	State       string // APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
	CommitID    string
	SubmittedAt time.Time
}

// CheckRunState is a check run as found on a commit.
type CheckRunState struct {
	ID          int64
	AppID       int64 // the App that made it
	Name        string
	Status      string
	Conclusion  string
	ExternalID  string
	URL         string
	Title       string
	Summary     string
	Text        string // the output's text (plan runs record their rules there)
	StartedAt   time.Time
	CompletedAt time.Time // zero until completed
}

// AnyApp, as the app of CheckRuns, lists every App's check runs: for
// weighing other tools' checks, never for reading slipway's own state.
const AnyApp int64 = 0

// Reviews lists a pull request's reviews in submission order, every page.
func (c *Client) Reviews(ctx context.Context, repo Repo, number int) ([]Review, error) {
	opts := &github.ListOptions{PerPage: 100}
	var out []Review
	for {
		page, res, err := c.gh.PullRequests.ListReviews(ctx, repo.Owner, repo.Name, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list reviews of %s#%d: %w", repo, number, err)
		}
		for _, r := range page {
			out = append(out, Review{User: r.GetUser().GetLogin(), State: r.GetState(), CommitID: r.GetCommitID(), SubmittedAt: r.GetSubmittedAt().Time})
		}
		if res.NextPage == 0 {
			return out, nil
		}
		opts.Page = res.NextPage
	}
}

// CheckRuns lists the check runs that App app made on sha (AnyApp: every
// App's), newest first as GitHub returns them, every page. Any App with
// checks permission on the repository can name a run "slipway/apply: …",
// so the App is both asked of GitHub (app_id) and checked on each run.
func (c *Client) CheckRuns(ctx context.Context, repo Repo, sha string, app int64) ([]CheckRunState, error) {
	opts := &github.ListCheckRunsOptions{Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 100}}
	if app != AnyApp {
		opts.AppID = github.Int64(app)
	}
	var out []CheckRunState
	for {
		page, res, err := c.gh.Checks.ListCheckRunsForRef(ctx, repo.Owner, repo.Name, sha, opts)
		if err != nil {
			return nil, fmt.Errorf("list check runs of %s@%s: %w", repo, sha, err)
		}
		for _, r := range page.CheckRuns {
			if app != AnyApp && r.GetApp().GetID() != app {
				continue
			}
			out = append(out, CheckRunState{ID: r.GetID(), AppID: r.GetApp().GetID(), Name: r.GetName(), Status: r.GetStatus(),
				Conclusion: r.GetConclusion(), ExternalID: r.GetExternalID(), URL: r.GetHTMLURL(),
				Title: r.GetOutput().GetTitle(), Summary: r.GetOutput().GetSummary(), Text: r.GetOutput().GetText(),
				StartedAt: r.GetStartedAt().Time, CompletedAt: r.GetCompletedAt().Time})
		}
		if res.NextPage == 0 {
			return out, nil
		}
		opts.Page = res.NextPage
	}
}

// CommitAuthors returns the GitHub logins of commit sha's author and
// committer, "" for one GitHub matches to no account.
func (c *Client) CommitAuthors(ctx context.Context, repo Repo, sha string) (string, string, error) {
	rc, _, err := c.gh.Repositories.GetCommit(ctx, repo.Owner, repo.Name, sha, &github.ListOptions{PerPage: 1})
	if err != nil {
		return "", "", fmt.Errorf("get commit %s of %s: %w", sha, repo, err)
	}
	return rc.GetAuthor().GetLogin(), rc.GetCommitter().GetLogin(), nil
}

// TeamMember reports whether user is an active member of org's team.
func (c *Client) TeamMember(ctx context.Context, org, team, user string) (bool, error) {
	m, res, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, team, user)
	if err != nil {
		if res != nil && res.StatusCode == 404 {
			return false, nil
		}
		return false, fmt.Errorf("membership of %s in %s/%s: %w", user, org, team, err)
	}
	return m.GetState() == "active", nil
}

// MergedPullRequest returns the merged pull request whose merge commit is
// sha, or nil when no pull request explains the commit (a direct push).
func (c *Client) MergedPullRequest(ctx context.Context, repo Repo, sha string) (*PR, error) {
	prs, _, err := c.gh.PullRequests.ListPullRequestsWithCommit(ctx, repo.Owner, repo.Name, sha, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, fmt.Errorf("pull requests of %s@%s: %w", repo, sha, err)
	}
	for _, pr := range prs {
		if pr.GetMergeCommitSHA() == sha && (pr.GetMerged() || pr.MergedAt != nil) {
			return prOf(pr), nil
		}
	}
	return nil, nil
}
