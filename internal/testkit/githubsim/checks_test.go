package githubsim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func annotations(n int) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	for i := range n {
		out = append(out, &github.CheckRunAnnotation{
			Path: github.String("apps/web/deployment.yaml"), StartLine: github.Int(i + 1), EndLine: github.Int(i + 1),
			AnnotationLevel: github.String("warning"), Message: github.String(fmt.Sprintf("finding %d", i)),
		})
	}
	return out
}

func TestCheckRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	head := f.sim.Head(testRepo, "feature")

	run, _, err := f.client.Checks.CreateCheckRun(f.ctx, "acme", "deploy", github.CreateCheckRunOptions{
		Name: "slipway/plan", HeadSHA: head, Status: github.String("in_progress"), ExternalID: github.String("plan-1"),
		Output: &github.CheckRunOutput{Title: github.String("Planning"), Summary: github.String("…"), Annotations: annotations(50)},
	})
	must(t, err)
	if run.GetStatus() != "in_progress" || run.GetApp().GetSlug() != "slipway" || len(run.PullRequests) != 1 ||
		run.PullRequests[0].GetNumber() != n || run.GetOutput().GetAnnotationsCount() != 50 {
		t.Errorf("created run: %+v", run)
	}

	rejected := []struct {
		name string
		opts github.UpdateCheckRunOptions
	}{
		{"51 annotations", github.UpdateCheckRunOptions{Name: "slipway/plan", Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(51)}}},
		{"completed without conclusion", github.UpdateCheckRunOptions{Name: "slipway/plan", Status: github.String("completed")}},
		{"summary too long", github.UpdateCheckRunOptions{Name: "slipway/plan", Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(strings.Repeat("x", 65536))}}},
		{"text too long", github.UpdateCheckRunOptions{Name: "slipway/plan", Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Text: github.String(strings.Repeat("x", 65536))}}},
		{"output without title", github.UpdateCheckRunOptions{Name: "slipway/plan", Output: &github.CheckRunOutput{Summary: github.String("s")}}},
		{"bad conclusion", github.UpdateCheckRunOptions{Name: "slipway/plan", Conclusion: github.String("great")}},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := f.client.Checks.UpdateCheckRun(f.ctx, "acme", "deploy", run.GetID(), tt.opts); statusOf(err) != 422 {
				t.Errorf("got %v, want 422", err)
			}
		})
	}

	done, _, err := f.client.Checks.UpdateCheckRun(f.ctx, "acme", "deploy", run.GetID(), github.UpdateCheckRunOptions{
		Name: "slipway/plan", Conclusion: github.String("success"),
		Output: &github.CheckRunOutput{Title: github.String("Plan"), Summary: github.String("2 changes"), Text: github.String("diff"), Annotations: annotations(10)},
	})
	must(t, err)
	if done.GetStatus() != "completed" || done.GetConclusion() != "success" || done.CompletedAt == nil ||
		done.GetOutput().GetAnnotationsCount() != 60 || done.GetOutput().GetSummary() != "2 changes" {
		t.Errorf("completed run: %+v", done)
	}
	if got := f.sim.CheckRunAnnotations(run.GetID()); len(got) != 60 {
		t.Errorf("%d annotations kept, want 60", len(got))
	}
	anns, _, err := f.client.Checks.ListCheckRunAnnotations(f.ctx, "acme", "deploy", run.GetID(), &github.ListOptions{PerPage: 100})
	must(t, err)
	if len(anns) != 60 {
		t.Errorf("listed %d annotations", len(anns))
	}

	_, _, err = f.client.Checks.CreateCheckRun(f.ctx, "acme", "deploy", github.CreateCheckRunOptions{Name: "slipway/apply", HeadSHA: head})
	must(t, err)
	for _, tt := range []struct {
		opts *github.ListCheckRunsOptions
		want []string
	}{
		{nil, []string{"slipway/apply", "slipway/plan"}},
		{&github.ListCheckRunsOptions{CheckName: github.String("slipway/plan")}, []string{"slipway/plan"}},
		{&github.ListCheckRunsOptions{Status: github.String("queued")}, []string{"slipway/apply"}},
	} {
		res, _, err := f.client.Checks.ListCheckRunsForRef(f.ctx, "acme", "deploy", "feature", tt.opts)
		must(t, err)
		var names []string
		for _, r := range res.CheckRuns {
			names = append(names, r.GetName())
		}
		if res.GetTotal() != len(tt.want) || strings.Join(names, ",") != strings.Join(tt.want, ",") {
			t.Errorf("list %+v = %d %v, want %v", tt.opts, res.GetTotal(), names, tt.want)
		}
	}

	f.sim.Flush()
	var actions []string
	for _, e := range f.hooks.events() {
		if ev, ok := e.Payload.(*github.CheckRunEvent); ok {
			actions = append(actions, ev.GetAction()+":"+ev.GetCheckRun().GetName())
		}
	}
	if strings.Join(actions, ",") != "created:slipway/plan,completed:slipway/plan,created:slipway/apply" {
		t.Errorf("check_run webhooks: %v", actions)
	}
	must(t, f.sim.RerequestCheckRun(testRepo, run.GetID(), "alice"))
	if ev := f.hooks.last(t, "check_run").Payload.(*github.CheckRunEvent); ev.GetAction() != "rerequested" || ev.GetSender().GetLogin() != "alice" {
		t.Errorf("rerequested event: %+v", ev)
	}
	if _, _, err := f.client.Checks.CreateCheckRun(f.ctx, "acme", "deploy", github.CreateCheckRunOptions{Name: "x", HeadSHA: strings.Repeat("a", 40)}); statusOf(err) != 422 {
		t.Errorf("check run on unknown sha: %v", err)
	}
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	sha := f.sim.Head(testRepo, "main")
	for _, s := range []struct{ state, context string }{{"pending", "ci"}, {"success", "ci"}, {"failure", "lint"}} {
		_, _, err := f.client.Repositories.CreateStatus(f.ctx, "acme", "deploy", sha, &github.RepoStatus{State: github.String(s.state), Context: github.String(s.context)})
		must(t, err)
	}
	list, _, err := f.client.Repositories.ListStatuses(f.ctx, "acme", "deploy", "main", nil)
	must(t, err)
	if len(list) != 3 || list[0].GetContext() != "lint" {
		t.Errorf("statuses newest first: %v", list)
	}
	combined, _, err := f.client.Repositories.GetCombinedStatus(f.ctx, "acme", "deploy", sha, nil)
	must(t, err)
	if combined.GetState() != "failure" || combined.GetTotalCount() != 2 {
		t.Errorf("combined %+v", combined)
	}
	if got := f.sim.Statuses(testRepo, sha); len(got) != 3 {
		t.Errorf("Statuses() = %v", got)
	}
}
