package workflow

import (
	"errors"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/report"
)

// planRunText is the text of a plan's check run: which rules it followed.
func planRunText(p *plan.Plan) string { return report.RulesLine(p.Rules) }

// reviewedRules is the rules digest a plan check run's text records.
func reviewedRules(text string) string { return report.ReviewedRules(text) }

// planChanged words an apply refused for ErrPlanChanged: when the rules the
// reviewed plan followed are known and the fresh plan follows others, it
// says the rules changed, which is what the reviewer must look at again.
func planChanged(rules string, fresh *plan.Plan) error {
	if rules != "" && fresh != nil && fresh.Rules != "" && fresh.Rules != rules {
		return errors.New(report.RulesChanged())
	}
	return errors.New("the plan changed since it was reviewed — review the new plan and /apply again")
}
