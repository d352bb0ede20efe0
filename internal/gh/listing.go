package gh

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"
)

// DeploymentRecord is a deployment as found in the history, with the state
// of its newest status ("" when it has none).
type DeploymentRecord struct {
	ID          int64
	Environment string
	Ref         string
	Created     time.Time
	State       string
	// Description is its newest status's description.
	Description string
	// Tool is the payload's "tool": "slipway" for slipway's own records.
	Tool string
	// Creator is the login of whoever created it: slipway's bot for its own.
	Creator string
	// RollbackOf is, for a reviewed rollback, the default branch's head it
	// went back from (the payload's "rollback_of").
	RollbackOf string
}

// OpenPullRequests lists a repository's open pull requests, every page.
func (c *Client) OpenPullRequests(ctx context.Context, repo Repo) ([]PR, error) {
	opts := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 100}}
	var out []PR
	for {
		page, res, err := c.gh.PullRequests.List(ctx, repo.Owner, repo.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("list open pull requests of %s: %w", repo, err)
		}
		for _, pr := range page {
			out = append(out, *prOf(pr))
		}
		if res.NextPage == 0 {
			return out, nil
		}
		opts.Page = res.NextPage
	}
}

// DefaultBranch returns the repository's default branch and its head.
func (c *Client) DefaultBranch(ctx context.Context, repo Repo) (string, string, error) {
	r, _, err := c.gh.Repositories.Get(ctx, repo.Owner, repo.Name)
	if err != nil {
		return "", "", fmt.Errorf("get %s: %w", repo, err)
	}
	b, _, err := c.gh.Repositories.GetBranch(ctx, repo.Owner, repo.Name, r.GetDefaultBranch(), 1)
	if err != nil {
		return "", "", fmt.Errorf("get branch %s of %s: %w", r.GetDefaultBranch(), repo, err)
	}
	return b.GetName(), b.GetCommit().GetSHA(), nil
}

// RecentDeployments lists the newest n deployments (at most 100), each
// with the state of its newest status.
func (c *Client) RecentDeployments(ctx context.Context, repo Repo, n int) ([]DeploymentRecord, error) {
	return c.deployments(ctx, repo, "", n)
}
