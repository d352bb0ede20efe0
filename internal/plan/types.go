// Package plan says what applying an environment's rendered objects would
// change in the live cluster, by server-side apply in dry-run.
package plan

// Action is what applying would do to one object.
type Action string

// Actions, in the order a report lists their counts.
const (
	Create    Action = "create"
	Update    Action = "update"
	Delete    Action = "delete"
	Unchanged Action = "unchanged"
	Error     Action = "error"
)

// Ref identifies an object in the cluster.
type Ref struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Change is one object's part of a plan.
type Change struct {
	Ref    Ref    `json:"ref"`
	Action Action `json:"action"`
	// File and Line locate the object in the repository ("" for deletes).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Before and After are the normalised live and desired objects as YAML:
	// noise removed, ignored fields dropped, Secret values masked. Before is
	// empty for creates, After for deletes; both are empty for errors.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Message explains an error (an admission rejection, say) or carries a
	// note for the reviewer ("created after its CRD in this plan").
	Message string `json:"message,omitempty"`
	// Kept marks an object slipway applied before that is no longer
	// rendered but that apply leaves in place (the environment has prune:
	// false, or the object is annotated slipway.dev/prune: disabled). Its
	// Action is Unchanged, because apply does not touch it, and Message says
	// why it stays.
	Kept bool `json:"kept,omitempty"`
	// Adopted marks a member of the environment's legacy inventory
	// (slipway-<env>, from before inventories were keyed by repository)
	// that apply moves into this repository's inventory: only its ApplySet
	// label changes, which Before and After leave out, so an otherwise
	// Unchanged object stays Unchanged (apply still sends it, to move it).
	Adopted bool `json:"adopted,omitempty"`
	// LabelOnly marks an Update of an object another tool created (it
	// carries no ApplySet label) where the label is all applying adds:
	// slipway adopts it and changes nothing else. Reports group these per
	// kind instead of showing a diff each; Before and After still hold the
	// objects, and the digest covers each one like any other change.
	LabelOnly bool `json:"label_only,omitempty"`
}

// Counts tallies a plan's changes by action.
type Counts struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Delete    int `json:"delete"`
	Unchanged int `json:"unchanged"`
	Error     int `json:"error"`
}

// Plan is the whole answer for one environment at one commit.
type Plan struct {
	// Repository (owner/name) and Environment say whose inventory the
	// plan was computed against; apply records the same one.
	Repository  string `json:"repository,omitempty"`
	Environment string `json:"environment"`
	Commit      string `json:"commit"`
	// Digest identifies what the reviewer saw and what decides where and
	// as whom it is applied: environment, Basis (commit, config blob,
	// cluster, service account) and each object's action and normalised
	// before and after, Secret values as their masks. Live resourceVersions
	// are not part of it. /apply recomputes it and refuses on mismatch.
	Digest string `json:"digest"`
	// Rules is Basis.RulesDigest of the plan: it tells a refused /apply
	// whether the rules (config, cluster, identity) changed since review.
	Rules string `json:"rules,omitempty"`
	// Changes in stable order (kind order, namespace, name), unchanged
	// objects included so they can be counted.
	Changes []Change `json:"changes"`
	// Skipped lists rendered Helm hooks this apply does not run (test,
	// delete and rollback hooks; install hooks of an upgrade, upgrade hooks
	// of an install), each Message saying why.
	Skipped []Change `json:"skipped,omitempty"`
	// Hooks are the Helm hooks the apply runs, in the order it runs them:
	// pre hooks before the other objects, post hooks after them.
	Hooks []Hook `json:"hooks,omitempty"`
	// Charts are the Helm charts from outside the repository rendered:
	// reference, version and digest (render.Result.Charts).
	Charts []string `json:"charts,omitempty"`
	// Notes are short remarks for the reviewer shown under the
	// environment's heading, such as "locked by #12". They are markdown
	// written by slipway itself, never text from a repository.
	Notes []string `json:"notes,omitempty"`
	// Err is a failure of the whole plan (render or config error); when set,
	// Changes may be empty.
	Err string `json:"error,omitempty"`
}

// Counts tallies p's changes.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, ch := range p.Changes {
		switch ch.Action {
		case Create:
			c.Create++
		case Update:
			c.Update++
		case Delete:
			c.Delete++
		case Unchanged:
			c.Unchanged++
		case Error:
			c.Error++
		}
	}
	return c
}

// HasChanges reports whether applying would change anything.
func (p *Plan) HasChanges() bool {
	c := p.Counts()
	return c.Create+c.Update+c.Delete > 0
}
