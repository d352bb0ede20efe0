package apply

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Listed returns the objects a report shows, failures first; unchanged
// objects are only counted.
func (r *Result) Listed() []ObjectResult {
	var out []ObjectResult
	for _, o := range reportOrder {
		for _, obj := range r.Objects {
			if obj.Outcome == o {
				out = append(out, obj)
			}
		}
		for _, h := range r.Hooks { // their messages name their event
			if h.Outcome == o {
				out = append(out, h.ObjectResult)
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
	for _, o := range r.Listed() {
		fmt.Fprintf(&b, "  %-11s %s %s\n", o.Outcome, terminalSafe(o.Ref.Kind), terminalSafe(ObjectName(o)))
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

// ObjectName is the object's namespace/name, or name when cluster-scoped.
func ObjectName(o ObjectResult) string {
	if o.Ref.Namespace == "" {
		return o.Ref.Name
	}
	return o.Ref.Namespace + "/" + o.Ref.Name
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
