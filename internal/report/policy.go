package report

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/policy"
)

// Limits of a policy report: long texts are cut so that many rules still
// fit.
const (
	maxViolationsShown = 50
	maxPolicyCell      = 1000 // bytes of a reason in the table
	maxViolation       = 300  // bytes of one violation's message
)

const policyTruncatedNote = "\n_The rest is cut: a check run summary holds at most 65,535 characters._\n"

// Policy renders a policy verdict as a check run summary: a table of every
// item, then the objects breaking each failing rule. Text that comes from
// the repository, the objects or GitHub is escaped; the whole stays within
// gh.CheckRunLimit.
func Policy(r policy.Result) string {
	w := &lineLimited{limit: gh.CheckRunLimit - len(policyTruncatedNote)}
	w.line("| | requirement | status |")
	w.line("|---|---|---|")
	for _, it := range r.Items {
		w.line(fmt.Sprintf("| %s | %s | %s |", mark(it.Met), oneLine(it.Label(), maxPolicyCell), oneLine(it.Reason, maxPolicyCell)))
	}
	for _, it := range r.Items {
		if it.Met || len(it.Violations) == 0 {
			continue
		}
		w.line("")
		w.line(fmt.Sprintf("**%s** — %d %s:", oneLine(it.Label(), maxPolicyCell), len(it.Violations), plural(len(it.Violations), "violation", "violations")))
		w.line("")
		for i, v := range it.Violations {
			if i == maxViolationsShown {
				w.line(fmt.Sprintf("- and %d more", len(it.Violations)-i))
				break
			}
			w.line(fmt.Sprintf("- %s: %s", oneLine(v.Object, maxPolicyCell), oneLine(v.Message, maxViolation)))
		}
	}
	if w.cut {
		w.b.WriteString(policyTruncatedNote)
	}
	return w.b.String()
}

func mark(met bool) string {
	if met {
		return "✅"
	}
	return "❌"
}

// lineLimited writes whole lines until the next one would pass limit bytes
// (bytes count at least as many as GitHub's characters).
type lineLimited struct {
	b     strings.Builder
	limit int
	cut   bool
}

func (w *lineLimited) line(s string) {
	if w.cut || w.b.Len()+len(s)+1 > w.limit {
		w.cut = true
		return
	}
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

// oneLine makes s safe as one line of markdown: line breaks and other
// control characters become spaces, markdown characters are escaped, and
// the text is cut to max bytes.
func oneLine(s string, max int) string {
	if len(s) > max {
		s = cutBytes(s, max) + "…"
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return escapeMarkdown(s)
}
