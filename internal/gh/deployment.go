package gh

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"
)

// Deployment is a rollout to record in the repository's deployment history.
type Deployment struct {
	Ref         string
	Environment string
	Description string
	Production  bool
	Payload     any
}

// DeploymentStatus is a step in a deployment's life.
type DeploymentStatus struct {
	State          string // in_progress | success | failure | error
	Description    string
	LogURL         string
	EnvironmentURL string
}

// CreateDeployment records d and returns its id. It never asks GitHub to
// merge the default branch into the ref or to wait for commit statuses:
// slipway has checked what it applies itself.
func (c *Client) CreateDeployment(ctx context.Context, repo Repo, d Deployment) (int64, error) {
	req := &github.DeploymentRequest{
		Ref:                   github.String(d.Ref),
		Task:                  github.String("deploy"),
		AutoMerge:             github.Bool(false),
		RequiredContexts:      &[]string{},
		Payload:               d.Payload,
		Environment:           github.String(d.Environment),
		Description:           optional(truncate(d.Description, 140)),
		ProductionEnvironment: github.Bool(d.Production),
	}
	var id int64
	start := time.Now()
	err := writeOnce(ctx, "deployment", func() error {
		dep, _, err := c.gh.Repositories.CreateDeployment(ctx, repo.Owner, repo.Name, req)
		id = dep.GetID()
		return err
	}, func() (bool, error) {
		// GitHub lists a ref's deployments newest first.
		deps, _, err := c.gh.Repositories.ListDeployments(ctx, repo.Owner, repo.Name, &github.DeploymentsListOptions{
			Ref: d.Ref, Environment: d.Environment, Task: "deploy", ListOptions: github.ListOptions{PerPage: 30},
		})
		for _, dep := range deps {
			if dep.GetDescription() == req.GetDescription() && dep.GetCreator().GetType() == "Bot" && after(dep.GetCreatedAt(), start) {
				id = dep.GetID()
				return true, nil
			}
		}
		return false, err
	})
	if err != nil {
		return 0, fmt.Errorf("create deployment of %s to %s: %w", repo, d.Environment, err)
	}
	return id, nil
}

// CreateDeploymentStatus adds status to deployment id.
func (c *Client) CreateDeploymentStatus(ctx context.Context, repo Repo, id int64, s DeploymentStatus) error {
	req := &github.DeploymentStatusRequest{
		State:          github.String(s.State),
		Description:    optional(truncate(s.Description, 140)),
		LogURL:         optional(s.LogURL),
		EnvironmentURL: optional(s.EnvironmentURL),
	}
	start := time.Now()
	err := writeOnce(ctx, "deployment status", func() error {
		_, _, err := c.gh.Repositories.CreateDeploymentStatus(ctx, repo.Owner, repo.Name, id, req)
		return err
	}, func() (bool, error) {
		// Newest first; the status just written would be among the first.
		statuses, _, err := c.gh.Repositories.ListDeploymentStatuses(ctx, repo.Owner, repo.Name, id, &github.ListOptions{PerPage: 30})
		for _, st := range statuses {
			if st.GetState() == s.State && st.GetDescription() == req.GetDescription() && after(st.GetCreatedAt(), start) {
				return true, nil
			}
		}
		return false, err
	})
	if err != nil {
		return fmt.Errorf("deployment %d status %s: %w", id, s.State, err)
	}
	return nil
}

// truncate keeps s within GitHub's limit of n characters for descriptions.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
