package githubsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Deployments and deployment statuses.

var deploymentStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

// deploymentJSON adds fields GitHub sends that go-github v60's Deployment
// does not model.
type deploymentJSON struct {
	*github.Deployment
	OriginalEnvironment   string `json:"original_environment"`
	TransientEnvironment  bool   `json:"transient_environment"`
	ProductionEnvironment bool   `json:"production_environment"`
}

func (d *deployment) render() deploymentJSON {
	return deploymentJSON{clone(d.d), d.d.GetEnvironment(), d.transient, d.production}
}

// Webhook payloads carry an action that go-github v60's event types lack.
type deploymentEvent struct {
	Action string `json:"action"`
	*github.DeploymentEvent
}

type deploymentStatusEvent struct {
	Action string `json:"action"`
	*github.DeploymentStatusEvent
}

func (r *repo) deployment(id int64) *deployment {
	for _, d := range r.deployments {
		if d.d.GetID() == id {
			return d
		}
	}
	return nil
}

// createDeployment records auto_merge but does not merge the default branch
// into ref as GitHub would; it does verify required_contexts, so a client
// that forgets to pass [] meets the same 409 it would on GitHub.
func (s *Sim) createDeployment(c *call) {
	var req struct {
		Ref                   string          `json:"ref"`
		Task                  *string         `json:"task"`
		AutoMerge             *bool           `json:"auto_merge"`
		RequiredContexts      *[]string       `json:"required_contexts"`
		Payload               json.RawMessage `json:"payload"`
		Environment           *string         `json:"environment"`
		Description           *string         `json:"description"`
		TransientEnvironment  *bool           `json:"transient_environment"`
		ProductionEnvironment *bool           `json:"production_environment"`
	}
	if !c.decode(&req) {
		return
	}
	if req.Ref == "" {
		c.invalid("Deployment", "ref", "missing_field", "ref is required")
		return
	}
	sha, ok := gitRepo{c.repo.dir}.resolve(req.Ref)
	if !ok {
		c.fail(http.StatusUnprocessableEntity, "No ref found for: "+req.Ref)
		return
	}
	if bad := notGreen(c.repo, sha, req.RequiredContexts); len(bad) > 0 {
		c.fail(http.StatusConflict, "Conflict: Commit status checks failed for "+req.Ref+".")
		return
	}
	env := orDefault(v2s(req.Environment), "production")
	payload := req.Payload
	if len(payload) == 0 || string(payload) == "null" {
		payload = json.RawMessage("{}")
	}
	id := s.st.next("deployment")
	full := c.repo.fullName()
	t := now()
	d := &deployment{
		d: &github.Deployment{
			ID:            github.Int64(id),
			NodeID:        nodeID("DE", id),
			SHA:           github.String(sha),
			Ref:           github.String(req.Ref),
			Task:          github.String(orDefault(v2s(req.Task), "deploy")),
			Payload:       payload,
			Environment:   github.String(env),
			Description:   req.Description,
			Creator:       s.userObj(s.BotLogin()),
			CreatedAt:     ts(t),
			UpdatedAt:     ts(t),
			URL:           github.String(s.apiURL("repos/%s/deployments/%d", full, id)),
			StatusesURL:   github.String(s.apiURL("repos/%s/deployments/%d/statuses", full, id)),
			RepositoryURL: github.String(s.apiURL("repos/%s", full)),
		},
		autoMerge:        req.AutoMerge == nil || *req.AutoMerge,
		requiredContexts: req.RequiredContexts,
		transient:        req.TransientEnvironment != nil && *req.TransientEnvironment,
		production:       boolOr(req.ProductionEnvironment, env == "production"),
	}
	c.repo.deployments = append(c.repo.deployments, d)
	c.emit("deployment", &deploymentEvent{"created", &github.DeploymentEvent{
		Deployment: clone(d.d), Repo: s.repoObj(c.repo), Sender: s.userObj(s.BotLogin()),
		Installation: installationRef(c.repo.installationID), Org: s.orgObj(c.repo.owner),
	}})
	c.json(http.StatusCreated, d.render())
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func (s *Sim) listDeployments(c *call) {
	q := c.r.URL.Query()
	match := func(field, want string) bool { return want == "" || field == want }
	out := []deploymentJSON{}
	for i := len(c.repo.deployments) - 1; i >= 0; i-- { // newest first
		d := c.repo.deployments[i]
		if match(d.d.GetSHA(), q.Get("sha")) && match(d.d.GetRef(), q.Get("ref")) &&
			match(d.d.GetEnvironment(), q.Get("environment")) && match(d.d.GetTask(), q.Get("task")) {
			out = append(out, d.render())
		}
	}
	c.json(http.StatusOK, page(c, out))
}

// deploymentParam finds {id}; on failure it has answered 404.
func (c *call) deploymentParam() (*deployment, bool) {
	id, ok := c.intParam("id")
	if !ok {
		return nil, false
	}
	d := c.repo.deployment(id)
	if d == nil {
		c.notFound()
	}
	return d, d != nil
}

func (s *Sim) getDeployment(c *call) {
	if d, ok := c.deploymentParam(); ok {
		c.json(http.StatusOK, d.render())
	}
}

func (s *Sim) createDeploymentStatus(c *call) {
	d, ok := c.deploymentParam()
	var req struct {
		State          string  `json:"state"`
		LogURL         *string `json:"log_url"`
		TargetURL      *string `json:"target_url"`
		Description    *string `json:"description"`
		Environment    *string `json:"environment"`
		EnvironmentURL *string `json:"environment_url"`
		AutoInactive   *bool   `json:"auto_inactive"`
	}
	if !ok || !c.decode(&req) {
		return
	}
	if !slices.Contains(deploymentStates, req.State) {
		c.invalid("DeploymentStatus", "state", "custom", "state is not included in the list")
		return
	}
	if req.Environment != nil && *req.Environment != "" {
		d.d.Environment = github.String(*req.Environment)
	}
	logURL := req.LogURL
	if logURL == nil {
		logURL = req.TargetURL
	}
	st := s.addDeploymentStatus(c.repo, d, req.State, v2s(req.Description), v2s(logURL), v2s(req.EnvironmentURL))
	if req.State == "success" && boolOr(req.AutoInactive, true) {
		s.deactivatePrevious(c, d)
	}
	c.emit("deployment_status", &deploymentStatusEvent{"created", &github.DeploymentStatusEvent{
		Deployment: clone(d.d), DeploymentStatus: clone(st), Repo: s.repoObj(c.repo), Sender: s.userObj(s.BotLogin()),
		Installation: installationRef(c.repo.installationID), Org: s.orgObj(c.repo.owner),
	}})
	c.json(http.StatusCreated, clone(st))
}

func (s *Sim) addDeploymentStatus(r *repo, d *deployment, state, description, logURL, envURL string) *github.DeploymentStatus {
	id := s.st.next("deployment_status")
	full := r.fullName()
	t := now()
	st := &github.DeploymentStatus{
		ID:             github.Int64(id),
		NodeID:         nodeID("DES", id),
		State:          github.String(state),
		Creator:        s.userObj(s.BotLogin()),
		Description:    github.String(description),
		Environment:    d.d.Environment,
		EnvironmentURL: github.String(envURL),
		LogURL:         github.String(logURL),
		TargetURL:      github.String(logURL),
		CreatedAt:      ts(t),
		UpdatedAt:      ts(t),
		URL:            github.String(s.apiURL("repos/%s/deployments/%d/statuses/%d", full, d.d.GetID(), id)),
		DeploymentURL:  d.d.URL,
		RepositoryURL:  github.String(s.apiURL("repos/%s", full)),
	}
	d.statuses = append(d.statuses, st)
	d.d.UpdatedAt = ts(t)
	return st
}

// deactivatePrevious is GitHub's auto_inactive: earlier non-transient,
// non-production deployments to the same environment whose latest state is
// success get an inactive status.
func (s *Sim) deactivatePrevious(c *call, current *deployment) {
	for _, d := range c.repo.deployments {
		if d == current || d.transient || d.production || d.d.GetID() > current.d.GetID() ||
			!strings.EqualFold(d.d.GetEnvironment(), current.d.GetEnvironment()) || len(d.statuses) == 0 ||
			d.statuses[len(d.statuses)-1].GetState() != "success" {
			continue
		}
		s.addDeploymentStatus(c.repo, d, "inactive", "", "", "")
	}
}

func (s *Sim) listDeploymentStatuses(c *call) {
	d, ok := c.deploymentParam()
	if !ok {
		return
	}
	out := []*github.DeploymentStatus{}
	for i := len(d.statuses) - 1; i >= 0; i-- { // newest first
		out = append(out, clone(d.statuses[i]))
	}
	c.json(http.StatusOK, page(c, out))
}

func (s *Sim) getDeploymentStatus(c *call) {
	d, ok := c.deploymentParam()
	if !ok {
		return
	}
	id, ok := c.intParam("status")
	if !ok {
		return
	}
	for _, st := range d.statuses {
		if st.GetID() == id {
			c.json(http.StatusOK, clone(st))
			return
		}
	}
	c.notFound()
}
