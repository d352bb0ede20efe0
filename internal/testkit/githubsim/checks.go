package githubsim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

// Check runs, validated the way GitHub validates them.

const (
	maxOutputChars        = 65535
	maxAnnotationsPerCall = 50
	maxCheckRunActions    = 3
)

var (
	checkStatuses    = []string{"queued", "in_progress", "completed"}
	checkConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
	annotationLevels = []string{"notice", "warning", "failure"}
)

// checkRunRequest is the body of POST and PATCH; pointers tell "absent"
// from "empty".
type checkRunRequest struct {
	Name        *string                  `json:"name"`
	HeadSHA     *string                  `json:"head_sha"`
	DetailsURL  *string                  `json:"details_url"`
	ExternalID  *string                  `json:"external_id"`
	Status      *string                  `json:"status"`
	Conclusion  *string                  `json:"conclusion"`
	StartedAt   *github.Timestamp        `json:"started_at"`
	CompletedAt *github.Timestamp        `json:"completed_at"`
	Output      *github.CheckRunOutput   `json:"output"`
	Actions     []*github.CheckRunAction `json:"actions"`
}

func invalidRequest(format string, args ...any) error {
	return refuse(http.StatusUnprocessableEntity, "Invalid request.\n\n"+fmt.Sprintf(format, args...))
}

func validateCheckRun(req *checkRunRequest) error {
	if req.Status != nil && !slices.Contains(checkStatuses, *req.Status) {
		return invalidRequest("%q is not a valid status.", *req.Status)
	}
	if req.Conclusion != nil && !slices.Contains(checkConclusions, *req.Conclusion) {
		return invalidRequest("%q is not a valid conclusion.", *req.Conclusion)
	}
	if len(req.Actions) > maxCheckRunActions {
		return invalidRequest("Only %d actions are allowed; %d were supplied.", maxCheckRunActions, len(req.Actions))
	}
	o := req.Output
	if o == nil {
		return nil
	}
	if o.Title == nil || o.Summary == nil {
		return invalidRequest("\"title\" and \"summary\" are required keys in \"output\".")
	}
	for field, v := range map[string]*string{"summary": o.Summary, "text": o.Text} {
		if n := utf8.RuneCountInString(v2s(v)); n > maxOutputChars {
			return invalidRequest("Only %d characters are allowed in output.%s; %d were supplied.", maxOutputChars, field, n)
		}
	}
	if len(o.Annotations) > maxAnnotationsPerCall {
		return invalidRequest("Only %d annotations are allowed per request; %d were supplied.", maxAnnotationsPerCall, len(o.Annotations))
	}
	for _, a := range o.Annotations {
		if a.Path == nil || a.StartLine == nil || a.EndLine == nil || a.Message == nil || !slices.Contains(annotationLevels, a.GetAnnotationLevel()) {
			return invalidRequest("Annotations need path, start_line, end_line, message and an annotation_level of notice, warning or failure.")
		}
	}
	return nil
}

func v2s(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// applyCheckRun merges a validated request into cr; completedNow reports
// the transition to completed, which GitHub announces with a webhook.
func applyCheckRun(cr *checkRun, req *checkRunRequest) (completedNow bool, err error) {
	run := cr.run
	wasCompleted := run.GetStatus() == "completed"
	set := func(dst **string, v *string) {
		if v != nil {
			*dst = github.String(*v)
		}
	}
	set(&run.Name, req.Name)
	set(&run.DetailsURL, req.DetailsURL)
	set(&run.ExternalID, req.ExternalID)
	set(&run.Status, req.Status)
	if req.StartedAt != nil {
		run.StartedAt = wholeSeconds(req.StartedAt)
	}
	if req.Conclusion != nil {
		run.Conclusion, run.Status = github.String(*req.Conclusion), github.String("completed")
	} else if req.Status != nil && *req.Status != "completed" {
		run.Conclusion, run.CompletedAt = nil, nil
	}
	if run.GetStatus() == "completed" {
		if run.Conclusion == nil {
			return false, invalidRequest("\"conclusion\" is required when \"status\" is \"completed\".")
		}
		if req.CompletedAt != nil {
			run.CompletedAt = wholeSeconds(req.CompletedAt)
		} else if run.CompletedAt == nil {
			run.CompletedAt = ts(now())
		}
	}
	if o := req.Output; o != nil {
		run.Output.Title, run.Output.Summary, run.Output.Text = o.Title, o.Summary, o.Text
		cr.annotations = append(cr.annotations, o.Annotations...)
		run.Output.AnnotationsCount = github.Int(len(cr.annotations))
	}
	return !wasCompleted && run.GetStatus() == "completed", nil
}

// checkRunObj renders a run with the fields GitHub derives: app, suite and
// the open pull requests whose head is the run's commit.
func (s *Sim) checkRunObj(r *repo, cr *checkRun) *github.CheckRun {
	out := clone(cr.run)
	app := s.appObj()
	if cr.app != nil {
		app = cr.app.obj(s)
	}
	out.App = &github.App{ID: app.ID, Slug: app.Slug, NodeID: app.NodeID, Name: app.Name, Owner: app.Owner}
	out.PullRequests = []*github.PullRequest{}
	for _, n := range sortedPullNumbers(r) {
		p := r.pulls[n]
		if p.state == "open" && s.headSHA(r, p) == out.GetHeadSHA() {
			full := s.prObj(r, p, prList)
			stub := func(b *github.PullRequestBranch) *github.PullRequestBranch {
				return &github.PullRequestBranch{Ref: b.Ref, SHA: b.SHA, Repo: &github.Repository{ID: b.Repo.ID, Name: b.Repo.Name, URL: b.Repo.URL}}
			}
			out.PullRequests = append(out.PullRequests, &github.PullRequest{
				ID: full.ID, Number: full.Number, URL: full.URL, Head: stub(full.Head), Base: stub(full.Base),
			})
		}
	}
	return out
}

func sortedPullNumbers(r *repo) []int {
	ns := make([]int, 0, len(r.pulls))
	for n := range r.pulls {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

func (r *repo) checkRun(id int64) *checkRun {
	for _, cr := range r.checkRuns {
		if cr.run.GetID() == id {
			return cr
		}
	}
	return nil
}

func (s *Sim) createCheckRun(c *call) {
	var req checkRunRequest
	if !c.decode(&req) {
		return
	}
	if req.Name == nil || *req.Name == "" || req.HeadSHA == nil {
		c.invalid("CheckRun", "name", "missing_field", "name and head_sha are required")
		return
	}
	sha, ok := gitRepo{c.repo.dir}.resolve(*req.HeadSHA)
	if !ok || sha != *req.HeadSHA {
		c.invalid("CheckRun", "head_sha", "invalid", "No commit found for SHA: "+*req.HeadSHA)
		return
	}
	if err := validateCheckRun(&req); err != nil {
		c.refuse(err)
		return
	}
	cr, events, err := s.addCheckRun(c.repo, sha, nil, &req)
	if err != nil {
		c.refuse(err)
		return
	}
	c.pending = append(c.pending, events...)
	c.json(http.StatusCreated, s.checkRunObj(c.repo, cr))
}

// addCheckRun records a new run on sha made by app (nil: the simulated
// App) from a validated request, and returns the webhooks GitHub sends.
func (s *Sim) addCheckRun(r *repo, sha string, app *OtherApp, req *checkRunRequest) (*checkRun, []outgoing, error) {
	id := s.st.next("check_run")
	full := r.fullName()
	suite := suiteKey(sha, app)
	if r.suites[suite] == 0 {
		r.suites[suite] = s.st.next("check_suite")
	}
	cr := &checkRun{app: app, run: &github.CheckRun{
		ID:         github.Int64(id),
		NodeID:     nodeID("CR", id),
		HeadSHA:    github.String(sha),
		Status:     github.String("queued"),
		StartedAt:  ts(now()),
		URL:        github.String(s.apiURL("repos/%s/check-runs/%d", full, id)),
		HTMLURL:    github.String(s.webURL("%s/runs/%d", full, id)),
		CheckSuite: &github.CheckSuite{ID: github.Int64(r.suites[suite])},
		Output: &github.CheckRunOutput{
			AnnotationsCount: github.Int(0),
			AnnotationsURL:   github.String(s.apiURL("repos/%s/check-runs/%d/annotations", full, id)),
		},
	}}
	cr.run.DetailsURL = cr.run.HTMLURL
	completed, err := applyCheckRun(cr, req)
	if err != nil {
		return nil, nil, err
	}
	r.checkRuns = append(r.checkRuns, cr)
	// Apps with checks permission hear of every App's runs being created
	// and completed (not of their re-runs, which go to the owner alone).
	sender := s.BotLogin()
	if app != nil {
		sender = app.Slug + "[bot]"
	}
	events := []outgoing{{"check_run", s.checkRunEvent("created", r, cr, sender)}}
	if completed { // created already finished: GitHub announces both
		events = append(events, outgoing{"check_run", s.checkRunEvent("completed", r, cr, sender)})
	}
	return cr, events, nil
}

// suiteKey: each App's runs on a commit form that App's check suite.
func suiteKey(sha string, app *OtherApp) string {
	if app == nil {
		return sha
	}
	return sha + "@" + app.Slug
}

// wholeSeconds: GitHub keeps check run times to the second.
func wholeSeconds(t *github.Timestamp) *github.Timestamp {
	return ts(t.Time.UTC().Truncate(time.Second))
}

// checkRunParam finds {id}; on failure it has answered 404.
func (c *call) checkRunParam() (*checkRun, bool) {
	id, ok := c.intParam("id")
	if !ok {
		return nil, false
	}
	cr := c.repo.checkRun(id)
	if cr == nil {
		c.notFound()
	}
	return cr, cr != nil
}

func (s *Sim) updateCheckRun(c *call) {
	cr, ok := c.checkRunParam()
	var req checkRunRequest
	if !ok || !c.decode(&req) {
		return
	}
	if cr.app != nil {
		c.fail(http.StatusForbidden, "Resource not accessible by integration") // another App's run
		return
	}
	if err := validateCheckRun(&req); err != nil {
		c.refuse(err)
		return
	}
	// Validate against a copy so a refused update leaves the run untouched.
	trial := &checkRun{run: clone(cr.run), annotations: cr.annotations}
	completed, err := applyCheckRun(trial, &req)
	if err != nil {
		c.refuse(err)
		return
	}
	cr.run, cr.annotations = trial.run, trial.annotations
	if completed {
		c.emit("check_run", s.checkRunEvent("completed", c.repo, cr, s.BotLogin()))
	}
	c.json(http.StatusOK, s.checkRunObj(c.repo, cr))
}

func (s *Sim) getCheckRun(c *call) {
	if cr, ok := c.checkRunParam(); ok {
		c.json(http.StatusOK, s.checkRunObj(c.repo, cr))
	}
}

func (s *Sim) listAnnotations(c *call) {
	if cr, ok := c.checkRunParam(); ok {
		c.json(http.StatusOK, page(c, nonNil(clone(cr.annotations))))
	}
}

// latestCheckRuns keeps the newest run per name, GitHub's filter=latest.
func latestCheckRuns(runs []*checkRun) []*checkRun {
	seen := map[string]bool{}
	var out []*checkRun
	for i := len(runs) - 1; i >= 0; i-- {
		if name := runs[i].run.GetName(); !seen[name] {
			seen[name] = true
			out = append(out, runs[i])
		}
	}
	slices.Reverse(out)
	return out
}

func (s *Sim) listCheckRunsForRef(c *call, ref string) {
	sha, ok := gitRepo{c.repo.dir}.resolve(ref)
	if !ok {
		c.invalid("Commit", "sha", "invalid", "No commit found for SHA: "+ref)
		return
	}
	app := int64(-1)
	if q := c.query("app_id"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil {
			c.invalid("CheckRun", "app_id", "invalid", "app_id must be an integer")
			return
		}
		app = n
	}
	var runs []*checkRun
	for _, cr := range c.repo.checkRuns {
		if cr.run.GetHeadSHA() == sha && (app < 0 || cr.appID(s) == app) {
			runs = append(runs, cr)
		}
	}
	if c.query("filter") != "all" {
		runs = latestCheckRuns(runs)
	}
	out := []*github.CheckRun{}
	for i := len(runs) - 1; i >= 0; i-- { // newest first
		run := runs[i].run
		if (c.query("check_name") == "" || c.query("check_name") == run.GetName()) &&
			(c.query("status") == "" || c.query("status") == run.GetStatus()) {
			out = append(out, s.checkRunObj(c.repo, runs[i]))
		}
	}
	c.json(http.StatusOK, &github.ListCheckRunsResults{Total: github.Int(len(out)), CheckRuns: page(c, out)})
}
