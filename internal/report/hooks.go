package report

import (
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/plan"
)

// hookView is one Helm hook an apply runs, for the report's hooks group.
type hookView struct {
	N      int    // its place in the run, from 1
	When   string // "before the other objects", "after them"
	Kind   string
	Name   string
	Detail string // event, weight, what is deleted when
}

// hookList describes the first few hooks an apply runs, in run order, as
// many as fit in maxSkippedLen bytes, and counts the rest.
func hookList(hooks []plan.Hook) ([]hookView, int) {
	var out []hookView
	size := 0
	for i, h := range hooks {
		v := hookView{N: i + 1, When: hookWhen(h.Phase), Kind: cutBytes(h.Ref.Kind, maxKindLen), Name: cutBytes(objectName(h.Ref), maxNameLen), Detail: hookDetail(h)}
		size += len(escapeHTML(v.Kind + v.Name + v.Detail))
		if i == maxSkippedList || (i > 0 && size > maxSkippedLen) {
			return out, len(hooks) - i
		}
		out = append(out, v)
	}
	return out, 0
}

func hookWhen(p plan.HookPhase) string {
	if p == plan.HookPre {
		return "before the other objects"
	}
	return "after them, once they are healthy"
}

// hookDetail says for which event a hook runs, its weight and how it is
// cleaned up, in the words of helm's annotations.
func hookDetail(h plan.Hook) string {
	parts := []string{h.Event}
	if h.Weight != 0 {
		parts = append(parts, fmt.Sprintf("weight %d", h.Weight))
	}
	var del []string
	for _, p := range h.DeletePolicies {
		switch p {
		case "before-hook-creation":
			del = append(del, "replaced on each run")
		case "hook-succeeded":
			del = append(del, "deleted once it succeeds")
		case "hook-failed":
			del = append(del, "deleted if it fails")
		}
	}
	return strings.Join(append(parts, del...), ", ")
}

// hookLines are the hooks for the terminal report, one line each.
func hookLines(hooks []plan.Hook) []string {
	out := make([]string, len(hooks))
	for i, h := range hooks {
		out[i] = terminalSafe(fmt.Sprintf("%s: %s %s (%s)", hookWhen(h.Phase), h.Ref.Kind, objectName(h.Ref), hookDetail(h)))
	}
	return out
}
