package gh

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v60/github"
)

// GitHub lists at most this many files in a comparison; past it the list
// is cut short.
const compareMaxFiles = 300

// Comparison is how one commit stands to another.
type Comparison struct {
	// Status is how head stands to base: ahead, behind, identical or
	// diverged.
	Status string
	// Files changed between the merge base and head; a renamed file is
	// listed under both names.
	Files []string
	// Complete is false when GitHub could not list every file.
	Complete bool
}

// Compare asks GitHub how head stands to base.
func (c *Client) Compare(ctx context.Context, repo Repo, base, head string) (*Comparison, error) {
	cmp, _, err := c.gh.Repositories.CompareCommits(ctx, repo.Owner, repo.Name, base, head, &github.ListOptions{PerPage: 1})
	if err != nil {
		return nil, fmt.Errorf("compare %s...%s in %s: %w", short(base), short(head), repo, err)
	}
	out := &Comparison{Status: cmp.GetStatus(), Complete: len(cmp.Files) < compareMaxFiles}
	for _, f := range cmp.Files {
		out.Files = append(out.Files, f.GetFilename())
		if prev := f.GetPreviousFilename(); prev != "" {
			out.Files = append(out.Files, prev)
		}
	}
	return out, nil
}

// FirstParent is the first parent of commit sha ("" for a root commit): on
// the default branch, the commit it was before sha.
func (c *Client) FirstParent(ctx context.Context, repo Repo, sha string) (string, error) {
	rc, _, err := c.gh.Repositories.GetCommit(ctx, repo.Owner, repo.Name, sha, &github.ListOptions{PerPage: 1})
	if err != nil {
		return "", fmt.Errorf("get commit %s of %s: %w", short(sha), repo, err)
	}
	if len(rc.Parents) == 0 {
		return "", nil
	}
	return rc.Parents[0].GetSHA(), nil
}

// EnvironmentDeployments lists env's newest n deployments (at most 100),
// newest first, each with the state of its newest status and who made it.
func (c *Client) EnvironmentDeployments(ctx context.Context, repo Repo, env string, n int) ([]DeploymentRecord, error) {
	return c.deployments(ctx, repo, env, n)
}

// deployments lists the newest n deployments of repo (at most 100), of
// environment env when it is not "", newest first, each read by record.
func (c *Client) deployments(ctx context.Context, repo Repo, env string, n int) ([]DeploymentRecord, error) {
	list, _, err := c.gh.Repositories.ListDeployments(ctx, repo.Owner, repo.Name, &github.DeploymentsListOptions{
		Environment: env, ListOptions: github.ListOptions{PerPage: min(max(n, 1), 100)},
	})
	if err != nil {
		if env != "" {
			return nil, fmt.Errorf("list deployments of %s to %s: %w", repo, env, err)
		}
		return nil, fmt.Errorf("list deployments of %s: %w", repo, err)
	}
	out := make([]DeploymentRecord, 0, len(list))
	for _, d := range list {
		rec, err := c.record(ctx, repo, d)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// record reads a deployment's payload tool, creator and newest status.
func (c *Client) record(ctx context.Context, repo Repo, d *github.Deployment) (DeploymentRecord, error) {
	rec := DeploymentRecord{ID: d.GetID(), Environment: d.GetEnvironment(), Ref: d.GetRef(), Created: d.GetCreatedAt().Time, Creator: d.GetCreator().GetLogin()}
	var payload struct {
		Tool       string `json:"tool"`
		RollbackOf string `json:"rollback_of"`
	}
	if json.Unmarshal(d.Payload, &payload) == nil {
		rec.Tool, rec.RollbackOf = payload.Tool, payload.RollbackOf
	}
	statuses, _, err := c.gh.Repositories.ListDeploymentStatuses(ctx, repo.Owner, repo.Name, d.GetID(), &github.ListOptions{PerPage: 1})
	if err != nil {
		return rec, fmt.Errorf("list statuses of deployment %d: %w", d.GetID(), err)
	}
	if len(statuses) > 0 {
		rec.State = statuses[0].GetState()
		rec.Description = statuses[0].GetDescription()
	}
	return rec, nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
