package workflow

import (
	"errors"
	"strings"

	"github.com/slipwayhq/slipway/internal/plan"
)

// rulesPrefix starts the line of a plan check run's text that records the
// rules the plan followed (plan.Plan.Rules). The digest alone cannot say,
// once it no longer matches, whether the objects or the rules moved.
const rulesPrefix = "Rules: "

// planRunText is the text of a plan's check run: which rules it followed.
func planRunText(p *plan.Plan) string {
	if p.Rules == "" {
		return ""
	}
	return rulesPrefix + "`" + p.Rules + "` (digest of the `.slipway.yaml` blob on the default branch, the cluster and the service account this plan followed; `/apply` refuses once they change)\n"
}

// reviewedRules is the rules digest a plan check run's text records, or ""
// when it records none (a run written before slipway recorded rules).
func reviewedRules(text string) string {
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, rulesPrefix+"`"); ok {
			if digest, _, ok := strings.Cut(rest, "`"); ok {
				return digest
			}
		}
	}
	return ""
}

// planChanged words an apply refused for ErrPlanChanged: when the rules the
// reviewed plan followed are known and the fresh plan follows others, it
// says the rules changed, which is what the reviewer must look at again.
func planChanged(rules string, fresh *plan.Plan) error {
	if rules != "" && fresh != nil && fresh.Rules != "" && fresh.Rules != rules {
		return errors.New("the rules changed since the plan was reviewed (`.slipway.yaml` on the default branch, or the cluster or service account it names): comment `/plan` to plan under the new rules, review that plan and `/apply` again")
	}
	return errors.New("the plan changed since it was reviewed — review the new plan and /apply again")
}
