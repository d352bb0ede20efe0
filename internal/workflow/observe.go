package workflow

import (
	"time"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/plan"
)

// Kinds of work an Event reports.
const (
	KindPlan      = "plan"      // a pull request's plan of one environment
	KindApply     = "apply"     // /apply of a reviewed plan before merge
	KindDeploy    = "deploy"    // merge-to-deploy, a push, or /apply after merge
	KindRollback  = "rollback"  // a reviewed /rollback
	KindReconcile = "reconcile" // drift: reconcile applying the difference
	KindDrift     = "drift"     // a drift check
)

// Outcomes of an Event.
const (
	OutcomeChanges   = "changes"    // plan: something would change
	OutcomeNoChanges = "no_changes" // plan: nothing would change
	OutcomeCancelled = "cancelled"  // plan: stopped early (superseded, shutting down)
	OutcomeError     = "error"      // the plan failed, or the records or the cluster did
	OutcomeSuccess   = "success"    // applied and healthy
	OutcomeFailure   = "failure"    // applied in part, or not healthy within wait
	OutcomeRefused   = "refused"    // nothing applied: the plan changed or had errors
	OutcomeInSync    = "in_sync"    // drift: the cluster matches the default branch
	OutcomeDrifted   = "drifted"    // drift: it does not
)

// Event is what one plan, rollout or drift check came to: metrics count
// it and notifications tell people. It carries names, counts and links,
// never object contents, so no Secret value can ride along.
type Event struct {
	Kind    string
	Repo    string // owner/name
	Env     string
	Outcome string
	Took    time.Duration
	Commit  string
	PR      int // 0 when no pull request started it
	// Summary is the plan's change counts ("+2 ~1 -1"), or for a rollout
	// the apply's ("2 created, 1 configured").
	Summary string
	// Objects counts what a rollout did to objects, by apply outcome.
	Objects map[apply.Outcome]int
	// CheckURL is the check run with the details.
	CheckURL string
	// Repeat is true for a drift check whose result is the one already
	// published on the commit: nothing new to tell.
	Repeat bool
}

// Observer hears every Event and which environments have a merge not
// yet deployed. Its methods are called on the workflow's goroutine and
// must return at once.
type Observer interface {
	Observe(Event)
	// Undeployed says whether repo's environment env is behind its
	// default branch (true) or has caught up (false).
	Undeployed(repo, env string, behind bool)
}

func (s *Session) observe(e Event) {
	if s.Observer == nil {
		return
	}
	e.Repo = s.Repo.String()
	s.Observer.Observe(e)
}

func (s *Session) undeployed(env string, behind bool) {
	if s.Observer != nil {
		s.Observer.Undeployed(s.Repo.String(), env, behind)
	}
}

// planOutcome classifies a finished plan.
func planOutcome(p *plan.Plan) string {
	switch {
	case p.Err != "" || p.Counts().Error > 0:
		return OutcomeError
	case p.HasChanges():
		return OutcomeChanges
	}
	return OutcomeNoChanges
}

// outcome classifies a rollout for an Event.
func (r rolled) outcome() string {
	switch {
	case r.refused != nil:
		return OutcomeRefused
	case r.followed != nil && r.followed.State == "success":
		return OutcomeSuccess
	case r.followed != nil && r.followed.State == "failure":
		return OutcomeFailure
	case r.err != nil || r.result == nil:
		return OutcomeError
	case r.result.Failed():
		return OutcomeFailure
	}
	return OutcomeSuccess
}
