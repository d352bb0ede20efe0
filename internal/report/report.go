// Package report turns plans into what people and machines read: GitHub
// markdown for the sticky pull request comment and check runs (cut to fit
// GitHub's size limits), coloured text for terminals, and JSON for scripts.
//
// The wording lives in the templates/ directory at the top of the
// repository; this package prepares what the templates show, escapes it, and
// decides what fits.
//
// Every report lists an environment's objects in review order: errors first
// (they block the apply), then deletions (they destroy), then creations and
// updates in the plan's own order (apply order: kind, namespace, name).
// Unchanged objects are only counted.
package report

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/templates"
)

// tmpl holds every template, parsed once. The templates are compiled into
// the binary, so a parse error is a bug the tests catch, not a runtime
// condition; parsing per report would be waste. Nothing modifies it after
// package initialisation, so concurrent reports share it safely.
var tmpl = template.Must(template.New("report").Funcs(funcMap()).ParseFS(templates.FS, "*.tmpl"))

// funcMap is the small set of helpers the templates may call: escaping and
// number formatting. Anything that decides content stays in Go.
func funcMap() template.FuncMap {
	return template.FuncMap{
		"esc":    escapeHTML,
		"md":     escapeMarkdown,
		"quote":  blockquote,
		"num":    thousands,
		"plural": plural,
	}
}

// render executes one named template into a string.
//
// It panics on failure: the data passed in are this package's own view
// structs, so an execution error is a mismatch between a template and its
// view that every test exercising the template would catch.
func render(name string, data any) string {
	var b strings.Builder
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		panic(fmt.Sprintf("report: template %s: %v", name, err))
	}
	return b.String()
}

// reviewOrder returns the changes a reviewer should read, in the order they
// should read them: errors, then deletions, then everything else (creations
// and updates). Unchanged objects are left out; plan order is kept within
// each group.
func reviewOrder(changes []plan.Change) []plan.Change {
	group := func(a plan.Action) int {
		switch a {
		case plan.Unchanged:
			return -1
		case plan.Error:
			return 0
		case plan.Delete:
			return 1
		}
		return 2
	}
	out := make([]plan.Change, 0, len(changes))
	for g := range 3 {
		for _, ch := range changes {
			if group(ch.Action) == g {
				out = append(out, ch)
			}
		}
	}
	return out
}

// present drops nil plans so callers can pass what they collected without
// filtering.
func present(plans []*plan.Plan) []*plan.Plan {
	out := make([]*plan.Plan, 0, len(plans))
	for _, p := range plans {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// symbol is the one-character mark for an action, as in terraform plan.
func symbol(a plan.Action) string {
	switch a {
	case plan.Create:
		return "+"
	case plan.Update:
		return "~"
	case plan.Delete:
		return "-"
	case plan.Error:
		return "!"
	}
	return " "
}

// objectName is "namespace/name", or "name" for cluster-scoped objects.
func objectName(r plan.Ref) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// source is "file:line", "file" or "" as far as the plan knows.
func source(ch plan.Change) string {
	switch {
	case ch.File == "":
		return ""
	case ch.Line > 0:
		return fmt.Sprintf("%s:%d", ch.File, ch.Line)
	default:
		return ch.File
	}
}
