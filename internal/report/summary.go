package report

import "github.com/slipwayhq/slipway/internal/plan"

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
