package report

import (
	"encoding/json"
	"io"

	"github.com/slipwayhq/slipway/internal/plan"
)

// JSON writes plans for scripts, in this shape (every key always present):
//
//	{"plans": [{
//	  "environment": "staging",
//	  "commit": "<full sha>",
//	  "digest": "sha256:…",
//	  "summary": {"create": 1, "update": 1, "delete": 0, "unchanged": 12, "error": 0},
//	  "changes": [{
//	    "ref": {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
//	    "action": "create" | "update" | "delete" | "error",
//	    "file": "deploy/staging/web.yaml", "line": 12,   // "" and 0 when unknown
//	    "diff": "<unified diff: @@ hunks for updates, all + for creates, all - for deletes>",
//	    "message": "<error, or a note for the reviewer>"
//	  }],
//	  "hooks": [{"ref": {…}, "file": "…", "phase": "pre" | "post", "event": "pre-upgrade",
//	             "weight": 0, "delete_policies": ["before-hook-creation"]}],   // in run order
//	  "skipped": [{"ref": {…}, "file": "…", "line": 0, "message": "<why the hook does not run>"}],
//	  "error": "<plan-level failure, or empty>"
//	}]}
//
// Changes are in plan order with unchanged objects left out (they are
// counted in summary). There are no before/after documents: the diff is what
// changes, and leaving the documents out keeps anything unmasked in them
// out of logs and artifacts.
func JSON(w io.Writer, plans []*plan.Plan) error {
	doc := jsonDoc{Plans: []jsonPlan{}}
	for _, p := range present(plans) {
		doc.Plans = append(doc.Plans, newJSONPlan(p))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Diffs are full of < and >; \u003c would make them unreadable.
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// The JSON types are this package's own, not plan's, so that the shape
// documented above changes only when this file does.
type jsonDoc struct {
	Plans []jsonPlan `json:"plans"`
}

type jsonPlan struct {
	Environment string        `json:"environment"`
	Commit      string        `json:"commit"`
	Digest      string        `json:"digest"`
	Summary     jsonSummary   `json:"summary"`
	Changes     []jsonChange  `json:"changes"`
	Hooks       []jsonHook    `json:"hooks"`
	Skipped     []jsonSkipped `json:"skipped"`
	Error       string        `json:"error"`
}

type jsonSummary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Delete    int `json:"delete"`
	Unchanged int `json:"unchanged"`
	Error     int `json:"error"`
}

type jsonRef struct {
	Group     string `json:"group"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

type jsonChange struct {
	Ref     jsonRef `json:"ref"`
	Action  string  `json:"action"`
	File    string  `json:"file"`
	Line    int     `json:"line"`
	Diff    string  `json:"diff"`
	Message string  `json:"message"`
}

type jsonHook struct {
	Ref            jsonRef  `json:"ref"`
	File           string   `json:"file"`
	Phase          string   `json:"phase"`
	Event          string   `json:"event"`
	Weight         int      `json:"weight"`
	DeletePolicies []string `json:"delete_policies"`
}

type jsonSkipped struct {
	Ref     jsonRef `json:"ref"`
	File    string  `json:"file"`
	Line    int     `json:"line"`
	Message string  `json:"message"`
}

func newJSONPlan(p *plan.Plan) jsonPlan {
	c := p.Counts()
	out := jsonPlan{
		Environment: p.Environment,
		Commit:      p.Commit,
		Digest:      p.Digest,
		Summary:     jsonSummary(c),
		Changes:     []jsonChange{},
		Hooks:       []jsonHook{},
		Skipped:     []jsonSkipped{},
		Error:       p.Err,
	}
	for _, ch := range p.Changes {
		if ch.Action == plan.Unchanged {
			continue
		}
		out.Changes = append(out.Changes, jsonChange{
			Ref:     jsonRef(ch.Ref),
			Action:  string(ch.Action),
			File:    ch.File,
			Line:    ch.Line,
			Diff:    unifiedDiff(ch),
			Message: ch.Message,
		})
	}
	for _, h := range p.Hooks {
		out.Hooks = append(out.Hooks, jsonHook{Ref: jsonRef(h.Ref), File: h.File, Phase: string(h.Phase), Event: h.Event, Weight: h.Weight, DeletePolicies: h.DeletePolicies})
	}
	for _, sk := range p.Skipped {
		out.Skipped = append(out.Skipped, jsonSkipped{Ref: jsonRef(sk.Ref), File: sk.File, Line: sk.Line, Message: sk.Message})
	}
	return out
}
