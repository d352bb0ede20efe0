package apply

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MarkdownLimit bounds Markdown's length in bytes: GitHub refuses comment and
// check-run bodies over 65,535 characters, and this leaves room for a
// caller's heading and footer.
const MarkdownLimit = 60000

// maxMessage bounds one object's message in the markdown table; the CLI and
// the logs have the whole of it.
const maxMessage = 600

// listed returns the objects a report shows, failures first; unchanged
// objects are only counted.
func (r *Result) listed() []ObjectResult {
	var out []ObjectResult
	for _, o := range reportOrder {
		for _, obj := range r.Objects {
			if obj.Outcome == o {
				out = append(out, obj)
			}
		}
	}
	return out
}

// Text is the result for a terminal: the summary, every object that was not
// unchanged with its message, and the failure. Text from the cluster is
// stripped of control characters.
func (r *Result) Text() string {
	var b strings.Builder
	verdict := "applied"
	if r.Failed() {
		verdict = "apply FAILED"
	}
	fmt.Fprintf(&b, "%s: %s (%s)\n", terminalSafe(r.Env), verdict, r.Summary())
	for _, o := range r.listed() {
		fmt.Fprintf(&b, "  %-11s %s %s\n", o.Outcome, terminalSafe(o.Ref.Kind), terminalSafe(objectName(o)))
		if o.Message != "" {
			for _, line := range strings.Split(strings.TrimRight(terminalSafe(o.Message), "\n"), "\n") {
				fmt.Fprintf(&b, "      %s\n", line)
			}
		}
	}
	if r.Err != "" {
		fmt.Fprintf(&b, "\nError: %s\n", terminalSafe(r.Err))
	}
	return b.String()
}

// Markdown is the result for GitHub: a heading with the verdict and summary,
// the failure, and a table of every object that was not unchanged,
// failures first, cut to fit MarkdownLimit.
func (r *Result) Markdown() string {
	var b strings.Builder
	verdict := "✅ applied"
	if r.Failed() {
		verdict = "❌ apply failed"
	}
	fmt.Fprintf(&b, "#### <code>%s</code> · %s\n\n**%s**", html.EscapeString(r.Env), verdict, escapeMarkdown(r.Summary()))
	if c := shortSHA(r.Commit); c != "" {
		fmt.Fprintf(&b, " · commit %s", c)
	}
	if d := shortDigest(r.Digest); d != "" {
		fmt.Fprintf(&b, " · plan <code>%s</code>", html.EscapeString(d))
	}
	b.WriteString("\n")
	if r.Err != "" {
		fmt.Fprintf(&b, "\n> [!CAUTION]\n> %s\n", cell(cut(r.Err, 4*maxMessage)))
	}
	rows := r.listed()
	if len(rows) == 0 {
		return b.String()
	}
	b.WriteString("\n| Outcome | Kind | Object | Message |\n|:--|:--|:--|:--|\n")
	for n, o := range rows {
		row := fmt.Sprintf("| %s | %s | <code>%s</code> | %s |\n", o.Outcome, escapeMarkdown(o.Ref.Kind),
			html.EscapeString(objectName(o)), cell(cut(o.Message, maxMessage)))
		left := len(rows) - n
		footer := fmt.Sprintf("\n_%d more %s not listed here to fit GitHub's size limit; `slipway apply` prints them all._\n", left, plural(left, "object", "objects"))
		if b.Len()+len(row)+len(footer) > MarkdownLimit {
			b.WriteString(footer)
			break
		}
		b.WriteString(row)
	}
	return b.String()
}

func objectName(o ObjectResult) string {
	if o.Ref.Namespace == "" {
		return o.Ref.Name
	}
	return o.Ref.Namespace + "/" + o.Ref.Name
}

// markdownSpecial are the characters that could start markdown or HTML
// inside a line of text (as in internal/report).
const markdownSpecial = "\\`*_{}[]()<>#+!|~&:@"

// escapeMarkdown backslash-escapes s so that text from the cluster cannot
// inject formatting, links or mentions.
func escapeMarkdown(s string) string {
	if !strings.ContainsAny(s, markdownSpecial) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cell makes s one line of escaped markdown, for a table cell or a quote,
// without control characters.
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r != '\n' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimRight(s, "\n"))
	return strings.ReplaceAll(escapeMarkdown(s), "\n", "<br>")
}

// cut shortens s to at most n bytes without splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var hexSHA = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// shortSHA abbreviates a commit; anything else is escaped.
func shortSHA(s string) string {
	if !hexSHA.MatchString(s) {
		return escapeMarkdown(s)
	}
	return s[:7]
}

// shortDigest abbreviates "sha256:<hex>" to its first 12 hex digits.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		alg, hex = "", d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	if alg == "" {
		return hex
	}
	return alg + ":" + hex
}

// terminalSafe shows control characters escaped (\x1b) so that a message
// cannot drive the terminal; tabs and newlines are kept.
func terminalSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r != '\n' && r != '\t' && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
