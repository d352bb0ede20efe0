package policy

import (
	"fmt"
	"strings"
	"unicode"
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
	Reason string // plain text; Markdown escapes it
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

// SummaryLimit is GitHub's limit on a check run's output summary.
const SummaryLimit = 65535

// Markdown limits: long texts are cut so that many rules still fit.
const (
	maxViolationsShown = 50
	maxCell            = 1000 // bytes of a reason in the table
	maxMessage         = 300  // bytes of one violation's message
)

// Markdown renders the result as a check run summary: a table of every
// item, then the objects breaking each failing rule. Text that comes from
// the repository, the objects or GitHub is escaped; the whole stays within
// SummaryLimit.
func (r Result) Markdown() string {
	w := &limited{limit: SummaryLimit - len(truncatedNote)}
	w.line("| | requirement | status |")
	w.line("|---|---|---|")
	for _, it := range r.Items {
		w.line(fmt.Sprintf("| %s | %s | %s |", mark(it.Met), escape(it.label(), maxCell), escape(it.Reason, maxCell)))
	}
	for _, it := range r.Items {
		if it.Met || len(it.Violations) == 0 {
			continue
		}
		w.line("")
		w.line(fmt.Sprintf("**%s** — %d %s:", escape(it.label(), maxCell), len(it.Violations), plural(len(it.Violations), "violation", "violations")))
		w.line("")
		for i, v := range it.Violations {
			if i == maxViolationsShown {
				w.line(fmt.Sprintf("- and %d more", len(it.Violations)-i))
				break
			}
			w.line(fmt.Sprintf("- %s: %s", escape(v.Object, maxCell), escape(v.Message, maxMessage)))
		}
	}
	if w.cut {
		w.b.WriteString(truncatedNote)
	}
	return w.b.String()
}

// label is how the table names an item.
func (it Item) label() string {
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

func mark(met bool) string {
	if met {
		return "✅"
	}
	return "❌"
}

const truncatedNote = "\n_The rest is cut: a check run summary holds at most 65,535 characters._\n"

// limited writes whole lines until the next one would pass limit bytes
// (bytes count at least as many as GitHub's characters).
type limited struct {
	b     strings.Builder
	limit int
	cut   bool
}

func (w *limited) line(s string) {
	if w.cut || w.b.Len()+len(s)+1 > w.limit {
		w.cut = true
		return
	}
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

// markdownSpecial are the characters that could start markdown or HTML in
// a table cell or list item: emphasis, links, code, table pipes, HTML tags
// and entities, mentions and issue references. A backslash before ASCII
// punctuation is always literal in CommonMark, and `\|` is how GFM keeps a
// pipe inside a cell.
const markdownSpecial = "\\`*_{}[]()<>#+!|~&:@"

// escape makes s safe as one line of markdown: line breaks and other
// control characters become spaces, markdown characters are escaped, and
// the text is cut to max bytes.
func escape(s string, max int) string {
	if len(s) > max {
		s = cutBytes(s, max) + "…"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case strings.ContainsRune(markdownSpecial, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cutBytes shortens s to at most n bytes without splitting a UTF-8
// sequence.
func cutBytes(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
