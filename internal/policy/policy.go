// Package policy decides whether an environment's guards hold for a pull
// request: approvals from the right people, the required states of the PR,
// and CEL rules over the rendered objects.
package policy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Directory answers who people are on GitHub. Implementations call the
// API; tests use a struct fake.
type Directory interface {
	// Permission is user's permission on the repository: admin, maintain,
	// write, triage, read or none.
	Permission(ctx context.Context, user string) (string, error)
	// TeamMember reports whether user is an active member of org/team.
	TeamMember(ctx context.Context, org, team, user string) (bool, error)
	// CommitAuthors are the GitHub logins of commit sha's author and
	// committer, "" for one GitHub matches to no account.
	CommitAuthors(ctx context.Context, sha string) (author, committer string, err error)
}

// Review is one pull-request review as GitHub reports it.
type Review struct {
	User     string
	State    string // APPROVED, CHANGES_REQUESTED, COMMENTED or DISMISSED
	CommitID string // the commit the review was submitted on
	// SubmittedAt is when GitHub recorded the review (whole seconds).
	SubmittedAt time.Time
}

// Review states that change a reviewer's standing. COMMENTED (and PENDING)
// leave it as it was.
const (
	ReviewApproved         = "APPROVED"
	ReviewChangesRequested = "CHANGES_REQUESTED"
	ReviewDismissed        = "DISMISSED"
)

// Check is one check run on the head commit. The caller passes the latest
// run of each name (GitHub's filter=latest, its default).
type Check struct {
	Name       string
	Status     string // queued, in_progress, completed, …
	Conclusion string // success, failure, neutral, skipped, …; set once completed
}

// PlanState says whether the environment's latest plan is at the head and
// succeeded; the caller knows the plans, policy only reports it.
type PlanState struct {
	Current bool
	Reason  string // shown either way, e.g. "plan at a1b2c3d is out of date"
	// Digest is the newest plan published at the head (its slipway/plan
	// check run completed with it), "" when none is; PublishedAt is when a
	// plan with that digest was first published there. Approvals count
	// only for the plan the approver could have seen.
	Digest      string
	PublishedAt time.Time
}

// Input is everything Evaluate needs for one environment of one PR.
type Input struct {
	Env     *repoconfig.Environment
	Rules   []CompiledRule // Rules.For(Env.Name)
	Author  string         // the PR author: never counts as an approver
	HeadSHA string
	// Pushers pushed the head commit, as recorded with its plans; they
	// never count as approvers. When none is known, the head commit's
	// author and committer (Directory.CommitAuthors) stand in for them.
	Pushers   []string
	Reviews   []Review // every review of the PR, in submission order
	Mergeable *bool    // nil while GitHub computes it
	Plan      PlanState
	Checks    []Check
	Objects   []*unstructured.Unstructured // the environment's rendered objects
	Lock      LockState                    // who holds the environment's lock

	// MinApprovals is the server config's floor under Env's approvals (the
	// server's rules come first in Rules, marked Server).
	MinApprovals int
}

// Evaluate checks one environment's policy: approvals first, then the
// lock (on-merge environments), then each requirement and each rule in
// config order. The approvals item is always listed, even when none are
// required, so a reviewer sees that the environment takes no approval. A Directory error fails the item it
// affects; it never lets one pass.
func Evaluate(ctx context.Context, in Input, dir Directory) Result {
	res := Result{Env: in.Env.Name}
	res.Items = append(res.Items, approvals(ctx, in, dir))
	if it, ok := lockItem(in); ok {
		res.Items = append(res.Items, it)
	}
	seen := map[string]bool{}
	for _, req := range in.Env.Policy.Require {
		if seen[req] {
			continue
		}
		seen[req] = true
		res.Items = append(res.Items, requirement(req, in))
	}
	res.Items = append(res.Items, CheckRules(ctx, in.Rules, in.Objects)...)
	return res
}

// CheckRules weighs rules against objects, an item per rule in order,
// sharing one evaluation budget: the rules part of Evaluate, on its own for
// checks that have no pull request (slipway validate).
func CheckRules(ctx context.Context, rules []CompiledRule, objects []*unstructured.Unstructured) []Item {
	var spent uint64
	items := make([]Item, 0, len(rules))
	for i := range rules {
		items = append(items, evaluateRule(ctx, &rules[i], objects, &spent))
	}
	return items
}

// requirement checks one entry of policy.require.
func requirement(name string, in Input) Item {
	item := Item{Kind: ItemRequirement, Name: name}
	switch name {
	case repoconfig.RequireMergeable:
		switch {
		case in.Mergeable == nil:
			item.Reason = "GitHub is still computing mergeability"
		case !*in.Mergeable:
			item.Reason = "has conflicts with the base branch"
		default:
			item.Met, item.Reason = true, "no conflicts with the base branch"
		}
	case repoconfig.RequirePlanCurrent:
		item.Met, item.Reason = in.Plan.Current, in.Plan.Reason
		if item.Reason == "" && item.Met {
			item.Reason = "the plan is at " + short(in.HeadSHA)
		} else if item.Reason == "" {
			item.Reason = "no successful plan at " + short(in.HeadSHA) + ": comment /plan"
		}
	case repoconfig.RequireChecksGreen:
		item.Met, item.Reason = checksGreen(in.Checks, in.HeadSHA)
	default:
		// Parse rejects unknown requirements; one that slips through must
		// not pass silently.
		item.Reason = fmt.Sprintf("unknown requirement %q", name)
	}
	return item
}

// slipway's own check runs wait on this policy, so counting them would
// deadlock: policy waits for apply, apply waits for policy.
var ownChecks = []string{"slipway/policy", "slipway/apply"}

// greenConclusions are the conclusions GitHub itself treats as passing for
// required status checks.
var greenConclusions = map[string]bool{"success": true, "neutral": true, "skipped": true}

// maxListed caps the names a reason lists; the rest are counted.
const maxListed = 10

func checksGreen(checks []Check, head string) (bool, string) {
	var failing []string
	total := 0
	for _, c := range checks {
		if hasAnyPrefix(c.Name, ownChecks) {
			continue
		}
		total++
		switch {
		case c.Status != "completed":
			failing = append(failing, c.Name+": "+orUnknown(c.Status))
		case !greenConclusions[c.Conclusion]:
			failing = append(failing, c.Name+": "+orUnknown(c.Conclusion))
		}
	}
	switch {
	case total == 0:
		return true, "no other check runs at " + short(head)
	case len(failing) == 0:
		return true, fmt.Sprintf("all %d %s at %s passed", total, plural(total, "check run", "check runs"), short(head))
	}
	return false, fmt.Sprintf("%d of %d %s at %s not green: %s", len(failing), total,
		plural(total, "check run", "check runs"), short(head), list(failing))
}

// list joins names, cutting after maxListed: "a, b and 3 more".
func list(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// short abbreviates a commit sha the way GitHub shows it.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
