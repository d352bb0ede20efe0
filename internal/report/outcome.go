package report

import (
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/apply"
)

// OutcomeRow is one environment's line in an apply outcome.
type OutcomeRow struct {
	Env     string
	OK      bool
	Skipped bool
	Summary string
	// LogURL links the details (the check run), when there is one.
	LogURL string
	// Result, when the apply failed part-way, is shown object by object.
	Result *apply.Result
}

// Outcome renders rollouts for a comment: one line per environment, then
// per-object results of any that failed part-way.
func Outcome(title string, rows []OutcomeRow) string {
	var b strings.Builder
	b.WriteString("#### " + title + "\n\n| environment | result |\n|---|---|\n")
	for _, r := range rows {
		mark := "✅"
		if !r.OK {
			mark = "❌"
		}
		if r.Skipped {
			mark = "⏭️"
		}
		link := ""
		if r.LogURL != "" {
			link = " ([details](" + r.LogURL + "))"
		}
		fmt.Fprintf(&b, "| %s `%s` | %s%s |\n", mark, r.Env, TableCell(r.Summary), link)
	}
	for _, r := range rows {
		if r.Result != nil && r.Result.Failed() {
			b.WriteString("\n<details><summary>" + r.Env + ": what was applied and what was not</summary>\n\n" + ApplyResult(r.Result) + "\n</details>\n")
		}
	}
	return b.String()
}

// rulesPrefix starts the line of a plan check run's text that records the
// rules the plan followed (plan.Plan.Rules). The digest alone cannot say,
// once it no longer matches, whether the objects or the rules moved.
const rulesPrefix = "Rules: "

// RulesLine is the line of a plan's check run text that records the rules
// digest it followed ("" for none); ReviewedRules reads it back.
func RulesLine(digest string) string {
	if digest == "" {
		return ""
	}
	return rulesPrefix + "`" + digest + "` (digest of the `.slipway.yaml` blob on the default branch, the cluster and the service account this plan followed; `/apply` refuses once they change)\n"
}

// ReviewedRules is the rules digest a plan check run's text records, or ""
// when it records none (a run written before slipway recorded rules).
func ReviewedRules(text string) string {
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, rulesPrefix+"`"); ok {
			if digest, _, ok := strings.Cut(rest, "`"); ok {
				return digest
			}
		}
	}
	return ""
}

// RulesChanged words an apply refused because the rules the reviewed plan
// followed changed.
func RulesChanged() string {
	return "the rules changed since the plan was reviewed (`.slipway.yaml` on the default branch, or the cluster or service account it names): comment `/plan` to plan under the new rules, review that plan and `/apply` again"
}
