package report

import (
	"fmt"

	"github.com/slipwayhq/slipway/internal/plan"
)

// summaryView is what the "summary" and "changes" templates need.
type summaryView struct {
	plan.Counts
	Failed     bool // the whole plan failed (render or config error)
	HasChanges bool // something would be created, updated or deleted
}

func summarize(p *plan.Plan) summaryView {
	return summaryView{Counts: p.Counts(), Failed: p.Err != "", HasChanges: p.HasChanges()}
}

// Summary is a plan in one line, as used for check run titles:
// "+2 ~1 -1", "+2 ~1, 1 error", "3 errors", "no changes" or "plan failed".
// Counts that are zero are left out.
func Summary(p *plan.Plan) string {
	if p == nil {
		return ""
	}
	return render("summary", summarize(p))
}

// KeptNote sums up the kept members for the environment's heading: the
// report lists unchanged objects only as a count, and a reviewer should know
// that objects removed from the repository stay in the cluster.
func KeptNote(changes []plan.Change) string {
	n := 0
	for _, ch := range changes {
		if ch.Kept {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d %s no longer rendered %s kept in the cluster, not pruned (`prune: false` or annotated `%s: %s`).",
		n, plural(n, "object", "objects"), plural(n, "is", "are"), plan.PruneAnnotation, plan.PruneDisabled)
}
