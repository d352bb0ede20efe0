package githubsim

import (
	"fmt"

	"github.com/google/go-github/v60/github"
)

// OtherApp is a GitHub App installed on the repositories beside the
// simulated one (a CI), whose check runs any App with checks permission
// can read, and whose runs may carry any name, "slipway/apply: …" too.
type OtherApp struct {
	ID   int64
	Slug string
}

// GitHubActions is the App that GitHub Actions workflows post check runs as
// on github.com.
var GitHubActions = OtherApp{ID: 15368, Slug: "github-actions"}

// obj renders the App as check runs embed it (go-github's App, the
// "integration" schema of GitHub's OpenAPI description).
func (a *OtherApp) obj(s *Sim) *github.App {
	return &github.App{
		ID:      github.Int64(a.ID),
		Slug:    github.String(a.Slug),
		NodeID:  nodeID("A", a.ID),
		Name:    github.String(a.Slug),
		Owner:   s.userObj(a.Slug + "-owner"),
		HTMLURL: github.String(s.webURL("apps/%s", a.Slug)),
	}
}

// appID is the id of the App that made the run.
func (cr *checkRun) appID(s *Sim) int64 {
	if cr.app != nil {
		return cr.app.ID
	}
	return s.opts.AppID
}

// OtherCheckRun is a check run another App creates.
type OtherCheckRun struct {
	Name, HeadSHA      string
	Status, Conclusion string // Conclusion set: completed
	ExternalID         string
	Title, Summary     string
}

// CreateCheckRunAs creates a check run as app would with its own
// installation token, validated as GitHub validates it, and sends the
// check_run webhooks every App with checks permission receives.
func (s *Sim) CreateCheckRunAs(app OtherApp, fullName string, o OtherCheckRun) (int64, error) {
	if app.ID == s.opts.AppID || app.ID <= 0 {
		return 0, fmt.Errorf("githubsim: app %d is not another App", app.ID)
	}
	var id int64
	err := s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		sha, ok := gitRepo{r.dir}.resolve(o.HeadSHA)
		if !ok || sha != o.HeadSHA {
			return nil, fmt.Errorf("githubsim: no commit %q in %s", o.HeadSHA, fullName)
		}
		opt := func(s string) *string {
			if s == "" {
				return nil
			}
			return &s
		}
		req := checkRunRequest{Name: &o.Name, HeadSHA: &sha, Status: opt(o.Status), Conclusion: opt(o.Conclusion), ExternalID: opt(o.ExternalID)}
		if o.Title != "" || o.Summary != "" {
			req.Output = &github.CheckRunOutput{Title: &o.Title, Summary: &o.Summary}
		}
		if err := validateCheckRun(&req); err != nil {
			return nil, err
		}
		cr, events, err := s.addCheckRun(r, sha, &app, &req)
		if err != nil {
			return nil, err
		}
		id = cr.run.GetID()
		return events, nil
	})
	return id, err
}
