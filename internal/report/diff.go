package report

import (
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/slipwayhq/slipway/internal/plan"
)

// diffContext is how many unchanged lines surround each change: the usual
// unified-diff amount, enough to see which YAML key a change sits under in
// most manifests without repeating the whole object.
const diffContext = 3

// unifiedDiff returns the diff a reviewer reads for one change: unified
// hunks (with @@ headers) for an update, every line added for a create,
// every line removed for a delete, and "" for errors and unchanged objects.
// There is no ---/+++ file header: the object's ref names both sides.
// Every line ends in a newline.
func unifiedDiff(ch plan.Change) string {
	switch ch.Action {
	case plan.Create:
		return prefixLines("+", ch.After)
	case plan.Delete:
		return prefixLines("-", ch.Before)
	case plan.Update:
		return updateDiff(ch.Before, ch.After)
	}
	return ""
}

func updateDiff(before, after string) string {
	// A missing final newline on one side only would show up as a change
	// ("\ No newline at end of file") that means nothing to a reviewer.
	before, after = withFinalNewline(before), withFinalNewline(after)
	edits := udiff.Lines(before, after)
	u, err := udiff.ToUnified("live", "desired", before, edits, diffContext)
	if err != nil {
		// Cannot happen: the edits were computed from before itself. Fall
		// back to showing both sides rather than hiding the change.
		return prefixLines("-", before) + prefixLines("+", after)
	}
	// Drop the "--- live" and "+++ desired" lines.
	for range 2 {
		if _, rest, ok := strings.Cut(u, "\n"); ok {
			u = rest
		}
	}
	return u
}

func prefixLines(prefix, text string) string {
	if text == "" {
		return ""
	}
	text = withFinalNewline(text)
	var b strings.Builder
	b.Grow(len(text) + len(text)/16)
	for line := range strings.Lines(text) {
		b.WriteString(prefix)
		b.WriteString(line)
	}
	return b.String()
}

func withFinalNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
