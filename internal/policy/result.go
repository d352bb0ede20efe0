package policy

import (
	"fmt"
)

// ItemKind says what an Item checks.
type ItemKind string

// The kinds of Item, in the order Evaluate lists them.
const (
	ItemApprovals   ItemKind = "approvals"
	ItemLock        ItemKind = "lock"
	ItemRequirement ItemKind = "requirement"
	ItemRule        ItemKind = "rule"
)

// Result is the outcome of one environment's policy.
type Result struct {
	Env   string
	Items []Item
}

// Item is one thing the policy requires and whether it holds.
type Item struct {
	Kind   ItemKind
	Name   string // "approvals", a requirement such as "mergeable", or a rule's name
	Met    bool
	Reason string // plain text; the report escapes it
	// Headline, when set, leads the check run title while the item is
	// unmet: what a reviewer must see first ("production is locked by #12").
	Headline   string
	Violations []Violation // for rules: the objects that break it
	// Server marks what the server config requires rather than the
	// repository's config: a rule of its own, or an approvals floor above
	// the environment's.
	Server bool
}

// Violation is one rendered object that breaks a rule.
type Violation struct {
	Object  string // Kind/namespace/name, or Kind/name when cluster-scoped
	Message string
}

// Passed reports whether every item is met.
func (r Result) Passed() bool {
	for _, it := range r.Items {
		if !it.Met {
			return false
		}
	}
	return true
}

// Title sums the result up for a check run title.
func (r Result) Title() string {
	n, met := len(r.Items), 0
	for _, it := range r.Items {
		if it.Met {
			met++
		}
	}
	switch {
	case n == 0:
		return "no requirements"
	case met == n:
		return fmt.Sprintf("all %d %s met", n, plural(n, "requirement", "requirements"))
	}
	counts := fmt.Sprintf("%d of %d %s met", met, n, plural(n, "requirement", "requirements"))
	for _, it := range r.Items {
		if !it.Met && it.Headline != "" {
			return it.Headline + " · " + counts
		}
	}
	return counts
}

// Label is how a report names an item: "rule NAME", and "(server)" or
// "(server floor)" for what the server config requires.
func (it Item) Label() string {
	label := it.Name
	if it.Kind == ItemRule {
		label = "rule " + it.Name
	}
	switch {
	case it.Server && it.Kind == ItemApprovals:
		label += " (server floor)"
	case it.Server:
		label += " (server)"
	}
	return label
}
