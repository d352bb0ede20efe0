package report

import (
	"fmt"
	"html"
	"strings"
	"unicode"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/gh"
)

// ApplyLimit bounds ApplyResult's length in bytes: GitHub refuses comment
// and check-run bodies over gh.CheckRunLimit characters, and this leaves
// room for a caller's heading and footer.
const ApplyLimit = gh.CheckRunLimit - 5535

// maxApplyMessage bounds one object's message in the apply table; the CLI
// and the logs have the whole of it.
const maxApplyMessage = 600

// ApplyResult is an apply's result for GitHub: a heading with the verdict
// and summary, the failure, and a table of every object that was not
// unchanged, failures first, cut to fit ApplyLimit.
func ApplyResult(r *apply.Result) string {
	var b strings.Builder
	verdict := "✅ applied"
	if r.Failed() {
		verdict = "❌ apply failed"
	}
	fmt.Fprintf(&b, "#### <code>%s</code> · %s\n\n**%s**", html.EscapeString(r.Env), verdict, escapeMarkdown(r.Summary()))
	if r.Commit != "" {
		fmt.Fprintf(&b, " · commit %s", shortSHA(r.Commit))
	}
	if r.Digest != "" {
		fmt.Fprintf(&b, " · plan <code>%s</code>", html.EscapeString(strings.TrimSuffix(shortDigest(r.Digest), "…")))
	}
	b.WriteString("\n")
	if r.Err != "" {
		fmt.Fprintf(&b, "\n> [!CAUTION]\n> %s\n", multilineCell(cutWithEllipsis(r.Err, 4*maxApplyMessage)))
	}
	rows, adopted := groupAdoptions(r.Listed(), func(o apply.ObjectResult) (string, bool) {
		return o.Ref.Kind, o.Outcome == apply.Adopted
	})
	if len(rows) == 0 && len(adopted) == 0 {
		return b.String()
	}
	b.WriteString("\n| Outcome | Kind | Object | Message |\n|:--|:--|:--|:--|\n")
	// Label-only adoptions, one row a kind, as the plan groups them.
	for _, a := range adopted {
		fmt.Fprintf(&b, "| %s | %s | %d %s | label only: %s |\n", apply.Adopted, escapeMarkdown(a.Kind), a.N, plural(a.N, "object", "objects"), adoptedMeaning)
	}
	for n, o := range rows {
		row := fmt.Sprintf("| %s | %s | <code>%s</code> | %s |\n", o.Outcome, escapeMarkdown(o.Ref.Kind),
			html.EscapeString(apply.ObjectName(o)), multilineCell(cutWithEllipsis(o.Message, maxApplyMessage)))
		left := len(rows) - n
		footer := fmt.Sprintf("\n_%d more %s not listed here to fit GitHub's size limit; `slipway apply` prints them all._\n", left, plural(left, "object", "objects"))
		if b.Len()+len(row)+len(footer) > ApplyLimit {
			b.WriteString(footer)
			break
		}
		b.WriteString(row)
	}
	return b.String()
}

// adoptedMeaning says what a label-only adoption did.
const adoptedMeaning = "created by another tool, now this environment's (slipway's ApplySet label added)"

// multilineCell makes s one line of escaped markdown, for a table cell or a
// quote, without control characters; its line breaks become <br>.
func multilineCell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r != '\n' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimRight(s, "\n"))
	return strings.ReplaceAll(escapeMarkdown(s), "\n", "<br>")
}

// cutWithEllipsis shortens s to at most n bytes without splitting a
// character, marking the cut.
func cutWithEllipsis(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutBytes(s, n) + "…"
}
