package githubsim

import (
	"encoding/json"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestDeployments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	sha := f.sim.Head(testRepo, "main")
	create := func(env string, required *[]string) (*github.Deployment, error) {
		d, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "deploy", &github.DeploymentRequest{
			Ref: github.String("main"), Task: github.String("deploy:apply"), Environment: github.String(env),
			AutoMerge: github.Bool(false), RequiredContexts: required,
			Payload: map[string]any{"pr": 7, "apps": []string{"web"}},
		})
		return d, err
	}
	none := &[]string{}

	staging, err := create("staging", none)
	must(t, err)
	var payload struct {
		PR   int
		Apps []string
	}
	if err := json.Unmarshal(staging.Payload, &payload); err != nil || payload.PR != 7 || staging.GetSHA() != sha || staging.GetCreator().GetLogin() != "slipway[bot]" {
		t.Errorf("deployment %+v payload %s", staging, staging.Payload)
	}
	prod, err := create("production", none)
	must(t, err)

	// Without required_contexts GitHub insists every status is green.
	_, _, err = f.client.Repositories.CreateStatus(f.ctx, "acme", "deploy", sha, &github.RepoStatus{State: github.String("failure"), Context: github.String("ci")})
	must(t, err)
	if _, err := create("production", nil); statusOf(err) != 409 {
		t.Errorf("deployment with a failing status: %v, want 409", err)
	}
	if _, err := create("production", &[]string{"other"}); statusOf(err) != 409 {
		t.Errorf("deployment requiring a missing context: %v, want 409", err)
	}

	for _, state := range []string{"in_progress", "success"} {
		_, _, err := f.client.Repositories.CreateDeploymentStatus(f.ctx, "acme", "deploy", staging.GetID(), &github.DeploymentStatusRequest{
			State: github.String(state), LogURL: github.String("https://ci/log"), EnvironmentURL: github.String("https://staging"),
		})
		must(t, err)
	}
	if _, _, err := f.client.Repositories.CreateDeploymentStatus(f.ctx, "acme", "deploy", staging.GetID(), &github.DeploymentStatusRequest{State: github.String("done")}); statusOf(err) != 422 {
		t.Errorf("bad state: %v", err)
	}
	statuses, _, err := f.client.Repositories.ListDeploymentStatuses(f.ctx, "acme", "deploy", staging.GetID(), nil)
	must(t, err)
	if len(statuses) != 2 || statuses[0].GetState() != "success" || statuses[0].GetEnvironmentURL() != "https://staging" {
		t.Errorf("statuses newest first: %v", statuses)
	}

	// A later successful staging deployment makes the earlier one inactive.
	staging2, err := create("staging", none)
	must(t, err)
	_, _, err = f.client.Repositories.CreateDeploymentStatus(f.ctx, "acme", "deploy", staging2.GetID(), &github.DeploymentStatusRequest{State: github.String("success")})
	must(t, err)
	if st := f.sim.DeploymentStatuses(testRepo, staging.GetID()); len(st) != 3 || st[2].GetState() != "inactive" {
		t.Errorf("earlier staging deployment statuses: %v", st)
	}

	for _, tt := range []struct {
		opts *github.DeploymentsListOptions
		want []int64
	}{
		{nil, []int64{staging2.GetID(), prod.GetID(), staging.GetID()}},
		{&github.DeploymentsListOptions{Environment: "staging"}, []int64{staging2.GetID(), staging.GetID()}},
		{&github.DeploymentsListOptions{SHA: sha, Task: "deploy:apply", Environment: "production"}, []int64{prod.GetID()}},
		{&github.DeploymentsListOptions{Ref: "other"}, nil},
	} {
		list, _, err := f.client.Repositories.ListDeployments(f.ctx, "acme", "deploy", tt.opts)
		must(t, err)
		var ids []int64
		for _, d := range list {
			ids = append(ids, d.GetID())
		}
		if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) {
			t.Errorf("list %+v = %v, want %v", tt.opts, ids, tt.want)
		}
	}
	got, _, err := f.client.Repositories.GetDeployment(f.ctx, "acme", "deploy", prod.GetID())
	must(t, err)
	if got.GetEnvironment() != "production" {
		t.Errorf("get deployment %+v", got)
	}
	if len(f.sim.Deployments(testRepo)) != 3 {
		t.Errorf("Deployments() = %v", f.sim.Deployments(testRepo))
	}
}
