package apply

import (
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/plan"
)

// Outcome is what apply did to one object.
type Outcome string

// Outcomes, in the order Summary counts them.
const (
	Created    Outcome = "created"
	Configured Outcome = "configured"
	// Adopted objects were created by another tool and only got this
	// environment's ApplySet label (plan.Change.LabelOnly).
	Adopted   Outcome = "adopted"
	Deleted   Outcome = "deleted" // pruned: no longer rendered
	Unchanged Outcome = "unchanged"
	// Kept is an object no longer rendered that stays in the cluster: the
	// environment has prune: false, or the object is annotated
	// slipway.dev/prune: disabled.
	Kept Outcome = "kept"
	// Unhealthy objects were applied but did not become ready within the
	// environment's wait.
	Unhealthy Outcome = "unhealthy"
	// Failed objects were refused by the cluster (or could not be deleted).
	Failed Outcome = "failed"
	// NotApplied objects were never sent: an earlier step failed, or the
	// run was cancelled first.
	NotApplied Outcome = "not-applied"
	// Succeeded hooks ran: a Job or Pod completed, another kind was applied.
	Succeeded Outcome = "succeeded"
)

// outcomeOrder is Summary's order, and the order the reports list objects
// in (unchanged ones only counted): what went wrong first.
var outcomeOrder = []Outcome{Created, Configured, Adopted, Deleted, Unchanged, Kept, Unhealthy, Failed, NotApplied}

// reportOrder lists what a reader must see first: failures, then what was
// destroyed, then the rest.
var reportOrder = []Outcome{Failed, Unhealthy, NotApplied, Deleted, Created, Configured, Adopted, Kept, Succeeded}

// Result is what one apply of one environment did.
type Result struct {
	Env    string `json:"environment"`
	Commit string `json:"commit,omitempty"`
	// Digest is the plan that was applied.
	Digest string `json:"digest,omitempty"`
	// Objects holds every object the plan named (touched, or meant to be),
	// in plan order.
	Objects []ObjectResult `json:"objects"`
	// Hooks are the plan's Helm hooks, in the order they run (or were to).
	Hooks []HookResult `json:"hooks,omitempty"`
	// Err is the first failure of the whole run, naming the objects it
	// concerns; "" on success.
	Err string `json:"error,omitempty"`
}

// HookResult is what became of one of the plan's Helm hooks.
type HookResult struct {
	ObjectResult
	// Event is the Helm event it ran for ("pre-upgrade").
	Event string `json:"event"`
}

// ObjectResult is one object's part of a Result.
type ObjectResult struct {
	Ref     plan.Ref `json:"ref"`
	Outcome Outcome  `json:"outcome"`
	// Message is the cluster's own words for a failure, kstatus's for an
	// unhealthy object, or a note (why an object was kept or not applied).
	// Secret values are masked.
	Message string `json:"message,omitempty"`
}

// Failed reports whether the apply failed: the environment may not match
// the plan, or did not become healthy.
func (r *Result) Failed() bool { return r.Err != "" }

// Counts tallies the objects by outcome.
func (r *Result) Counts() map[Outcome]int {
	c := make(map[Outcome]int, len(outcomeOrder))
	for _, o := range r.Objects {
		c[o.Outcome]++
	}
	return c
}

// Summary is one line: "3 created, 1 configured, 1 deleted, 10 unchanged".
func (r *Result) Summary() string {
	c := r.Counts()
	var parts []string
	for _, o := range outcomeOrder {
		if n := c[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	hooks := map[Outcome]int{}
	for _, h := range r.Hooks {
		hooks[h.Outcome]++
	}
	for _, o := range []Outcome{Succeeded, Failed, NotApplied} {
		if n := hooks[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s %s", n, plural(n, "hook", "hooks"), o))
		}
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}
