// Package notify tells people what slipway did to their clusters: each
// apply, deploy, rollback and drift outcome goes, in the background, to the
// receivers of the server config's notify list (Slack incoming webhooks,
// or generic webhooks whose body is signed with HMAC-SHA256). A receiver
// that is slow or down never holds up or fails the work it reports on.
package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Events a receiver may ask for.
const (
	EventApply     = "apply"
	EventDeploy    = "deploy"
	EventRollback  = "rollback"
	EventReconcile = "reconcile"
	EventDrift     = "drift"
)

// Events are every event, the default of a receiver that names none.
var Events = []string{EventApply, EventDeploy, EventRollback, EventReconcile, EventDrift}

// Message is one notification: names, counts and links only. Nothing in
// it comes from the objects applied, so no Secret value can reach a
// receiver; the check run behind Links.Check holds the details.
type Message struct {
	// ID is unique per message, so a receiver can drop a repeat.
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	Event       string    `json:"event"`
	Outcome     string    `json:"outcome"`
	Repository  string    `json:"repository"`
	Environment string    `json:"environment"`
	Commit      string    `json:"commit"`
	PullRequest int       `json:"pull_request,omitempty"`
	// Summary counts what changed: "2 created, 1 configured" or "+2 ~1 -1".
	Summary string `json:"summary,omitempty"`
	// Text says it all in one plain line for people (report.NotifyLine).
	Text  string `json:"text"`
	Links Links  `json:"links"`
}

// Links point at where people read more, on GitHub.
type Links struct {
	PullRequest string `json:"pull_request,omitempty"`
	// Deployments is the environment's deployment history.
	Deployments string `json:"deployments,omitempty"`
	Check       string `json:"check,omitempty"`
	Commit      string `json:"commit,omitempty"`
}

// slackBody is a Slack incoming webhook's payload: the line, then links
// in Slack's <url|label> form, with Slack's three control characters
// escaped in everything slipway did not write itself.
func (m Message) slackBody() ([]byte, error) {
	text := slackEscape(m.Text)
	var links []string
	for _, l := range []struct{ url, label string }{
		{m.Links.PullRequest, fmt.Sprintf("#%d", m.PullRequest)},
		{m.Links.Deployments, "deployments"},
		{m.Links.Check, "details"},
		{m.Links.Commit, "commit"},
	} {
		if l.url != "" {
			links = append(links, "<"+slackEscape(l.url)+"|"+slackEscape(l.label)+">")
		}
	}
	if len(links) > 0 {
		text += "\n" + strings.Join(links, " · ")
	}
	return json.Marshal(map[string]string{"text": text})
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
