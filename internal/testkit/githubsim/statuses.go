package githubsim

import (
	"maps"
	"net/http"
	"slices"

	"github.com/google/go-github/v60/github"
)

// Commit statuses, and the "is this commit green" question that deployments
// and mergeable_state ask of statuses and check runs together.

var statusStates = []string{"error", "failure", "pending", "success"}

func (s *Sim) createStatus(c *call) {
	var req struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     string  `json:"context"`
	}
	if !c.decode(&req) {
		return
	}
	sha, ok := gitRepo{c.repo.dir}.resolve(c.r.PathValue("sha"))
	if !ok {
		c.invalid("Status", "sha", "invalid", "No commit found for SHA: "+c.r.PathValue("sha"))
		return
	}
	if !slices.Contains(statusStates, req.State) {
		c.invalid("Status", "state", "custom", "state is not included in the list")
		return
	}
	id := s.st.next("status")
	t := now()
	st := &github.RepoStatus{
		ID:          github.Int64(id),
		NodeID:      nodeID("SC", id),
		URL:         github.String(s.apiURL("repos/%s/statuses/%s", c.repo.fullName(), sha)),
		State:       github.String(req.State),
		TargetURL:   req.TargetURL,
		Description: req.Description,
		Context:     github.String(orDefault(req.Context, "default")),
		AvatarURL:   s.userObj(s.BotLogin()).AvatarURL,
		Creator:     s.userObj(s.BotLogin()),
		CreatedAt:   ts(t),
		UpdatedAt:   ts(t),
	}
	c.repo.statuses = append(c.repo.statuses, &status{sha: sha, s: st})
	c.json(http.StatusCreated, clone(st))
}

// statusesFor lists a commit's statuses newest first.
func statusesFor(r *repo, sha string) []*github.RepoStatus {
	var out []*github.RepoStatus
	for i := len(r.statuses) - 1; i >= 0; i-- {
		if r.statuses[i].sha == sha {
			out = append(out, r.statuses[i].s)
		}
	}
	return out
}

// latestStatuses keeps the newest status per context.
func latestStatuses(r *repo, sha string) []*github.RepoStatus {
	seen := map[string]bool{}
	var out []*github.RepoStatus
	for _, st := range statusesFor(r, sha) {
		if !seen[st.GetContext()] {
			seen[st.GetContext()] = true
			out = append(out, st)
		}
	}
	return out
}

func (s *Sim) listStatuses(c *call, ref string) {
	sha, ok := c.resolveRef(ref)
	if !ok {
		return
	}
	c.json(http.StatusOK, page(c, nonNil(clone(statusesFor(c.repo, sha)))))
}

func (s *Sim) combinedStatus(c *call, ref string) {
	sha, ok := c.resolveRef(ref)
	if !ok {
		return
	}
	latest := latestStatuses(c.repo, sha)
	state := "success"
	if len(latest) == 0 {
		state = "pending"
	}
	for _, st := range latest {
		switch st.GetState() {
		case "error", "failure":
			state = "failure"
		case "pending":
			if state != "failure" {
				state = "pending"
			}
		}
	}
	full := c.repo.fullName()
	c.json(http.StatusOK, &github.CombinedStatus{
		State:         github.String(state),
		Name:          github.String(full),
		SHA:           github.String(sha),
		TotalCount:    github.Int(len(latest)),
		Statuses:      page(c, nonNil(clone(latest))),
		CommitURL:     github.String(s.apiURL("repos/%s/commits/%s", full, sha)),
		RepositoryURL: github.String(s.apiURL("repos/%s", full)),
	})
}

// contextStates maps every status context and check run name on sha to
// whether it is green (success, or a neutral/skipped check).
func contextStates(r *repo, sha string) map[string]bool {
	green := map[string]bool{}
	for _, st := range latestStatuses(r, sha) {
		green[st.GetContext()] = st.GetState() == "success"
	}
	var runs []*checkRun
	for _, cr := range r.checkRuns {
		if cr.run.GetHeadSHA() == sha {
			runs = append(runs, cr)
		}
	}
	for _, cr := range latestCheckRuns(runs) {
		green[cr.run.GetName()] = cr.run.GetStatus() == "completed" &&
			slices.Contains([]string{"success", "neutral", "skipped"}, cr.run.GetConclusion())
	}
	return green
}

// allGreen reports whether every status context and check run on sha is
// green.
func (s *Sim) allGreen(r *repo, sha string) bool {
	return len(notGreen(r, sha, nil)) == 0
}

// notGreen is GitHub's check before creating a deployment: it lists the
// contexts named in required (every context on the commit when required is
// nil) that are not green.
func notGreen(r *repo, sha string, required *[]string) []string {
	green := contextStates(r, sha)
	var bad []string
	if required == nil {
		for _, name := range slices.Sorted(maps.Keys(green)) {
			if !green[name] {
				bad = append(bad, name)
			}
		}
		return bad
	}
	for _, name := range *required {
		if !green[name] {
			bad = append(bad, name)
		}
	}
	return bad
}
