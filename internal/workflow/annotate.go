package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// annotations points a check run at the lines that broke a plan: a render
// error's file and line, and each object the cluster rejected.
func annotations(p *plan.Plan, cause error) []gh.Annotation {
	var out []gh.Annotation
	var located *render.Error
	if errors.As(cause, &located) && located.File != "" {
		out = append(out, gh.Annotation{Path: located.File, Line: located.Line, Level: "failure", Title: "render failed", Message: located.Msg})
	}
	for _, ch := range p.Changes {
		if ch.Action == plan.Error && ch.File != "" {
			out = append(out, gh.Annotation{
				Path: ch.File, Line: ch.Line, Level: "failure",
				Title:   fmt.Sprintf("%s %s rejected", ch.Ref.Kind, ch.Ref.Name),
				Message: ch.Message,
			})
		}
	}
	return out
}

// reportConfigError fails the pull request's slipway/plan check with the
// default branch's .slipway.yaml problems, each annotated on its line.
func (s *Session) reportConfigError(ctx context.Context, pr *gh.PR, rules rulesHead, err error) error {
	var anns []gh.Annotation
	var errs strictyaml.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			msg := e.Msg
			if e.Key != "" {
				msg = e.Key + ": " + msg
			}
			anns = append(anns, gh.Annotation{Path: repoconfig.FileName, Line: e.Line, Level: "failure", Title: "invalid .slipway.yaml on " + rules.Branch, Message: msg})
		}
	}
	run := gh.CheckRun{
		Name:        checkConfig,
		HeadSHA:     pr.HeadSHA,
		Status:      "completed",
		Conclusion:  "failure",
		Title:       ".slipway.yaml on the default branch is invalid",
		Summary:     report.InvalidRulesForPR(rules.Branch, short(rules.SHA), err.Error()),
		Annotations: anns,
	}
	if _, _, cerr := s.GitHub.CreateCheckRun(ctx, s.Repo, run); cerr != nil {
		return cerr
	}
	return s.publish(ctx, pr, nil, []string{report.InvalidRulesNote(rules.Branch)})
}
