package gh_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/world"
)

// fastRetries sits out GitHub's failures for a millisecond, not seconds.
var fastRetries = transport.Options{Backoff: backoff.Policy{Base: time.Millisecond, Max: time.Millisecond}}

// Writes whose answer is lost (the write took effect, or not) end with
// exactly one of what they create.
func TestWritesSurviveLostAnswers(t *testing.T) {
	gh.SetWriteBackoff(backoff.Policy{Base: 10 * time.Millisecond, Max: 20 * time.Millisecond})
	w := world.New(t, world.Options{Files: map[string]string{"a": "b"}})
	sim := w.Sim
	head := w.Push(t, "change", "alice", map[string]string{"a": "c"})
	c := w.Port(t, fastRetries)
	repo := w.GHRepo()
	ctx := context.Background()

	lost := func(path string) []githubsim.Fault {
		return []githubsim.Fault{githubsim.LostAnswer("", path, http.StatusBadGateway)}
	}
	failed := func(path string) []githubsim.Fault { // the write did not happen
		return []githubsim.Fault{githubsim.ServerError("", path, http.StatusBadGateway), githubsim.ServerError("", path, http.StatusGatewayTimeout)}
	}
	annotations := func(n int) []gh.Annotation {
		var out []gh.Annotation
		for i := range n {
			out = append(out, gh.Annotation{Path: "a", Line: i + 1, Level: "warning", Message: fmt.Sprint("note ", i)})
		}
		return out
	}

	tests := []struct {
		name   string
		faults []githubsim.Fault
		write  func(pr int) error
		check  func(t *testing.T, pr int)
	}{
		{"comment made despite the 502", lost(`/issues/\d+/comments$`), func(pr int) error {
			_, err := c.CreateComment(ctx, repo, pr, "plan")
			return err
		}, func(t *testing.T, pr int) {
			if n := len(sim.Comments("acme/shop", pr)); n != 1 {
				t.Errorf("%d comments, want 1", n)
			}
		}},
		{"comment not made by the 502s", failed(`/issues/\d+/comments$`), func(pr int) error {
			_, err := c.CreateComment(ctx, repo, pr, "plan")
			return err
		}, func(t *testing.T, pr int) {
			if n := len(sim.Comments("acme/shop", pr)); n != 1 {
				t.Errorf("%d comments, want 1", n)
			}
		}},
		{"check run made despite the 502", lost(`/check-runs$`), func(pr int) error {
			_, _, err := c.CreateCheckRun(ctx, repo, gh.CheckRun{Name: fmt.Sprint("plan ", pr), HeadSHA: head, Status: "in_progress"})
			return err
		}, func(t *testing.T, pr int) {
			if n := countRuns(sim, fmt.Sprint("plan ", pr)); n != 1 {
				t.Errorf("%d check runs, want 1", n)
			}
		}},
		{"check run not made by the 502s", failed(`/check-runs$`), func(pr int) error {
			_, _, err := c.CreateCheckRun(ctx, repo, gh.CheckRun{Name: fmt.Sprint("plan ", pr), HeadSHA: head, Status: "in_progress"})
			return err
		}, func(t *testing.T, pr int) {
			if n := countRuns(sim, fmt.Sprint("plan ", pr)); n != 1 {
				t.Errorf("%d check runs, want 1", n)
			}
		}},
		{"annotated update and batch made despite 502s", nil, func(pr int) error {
			name := fmt.Sprint("plan ", pr)
			id, _, err := c.CreateCheckRun(ctx, repo, gh.CheckRun{Name: name, HeadSHA: head, Status: "in_progress"})
			if err != nil {
				return err
			}
			for _, f := range append(lost(`/check-runs/\d+$`), githubsim.Fault{Method: "PATCH", Path: `/check-runs/\d+$`, Status: 502, AfterEffect: true}) {
				if err := sim.InjectFault(f); err != nil {
					return err
				}
			}
			return c.UpdateCheckRun(ctx, repo, id, gh.CheckRun{Name: name, Status: "completed", Conclusion: "failure", Title: "2 errors", Summary: "s", Annotations: annotations(70)})
		}, func(t *testing.T, pr int) {
			for _, run := range sim.CheckRuns("acme/shop") {
				if run.GetName() == fmt.Sprint("plan ", pr) {
					if n := len(sim.CheckRunAnnotations(run.GetID())); n != 70 || run.GetConclusion() != "failure" {
						t.Errorf("%s with %d annotations, want failure with 70", run.GetConclusion(), n)
					}
				}
			}
		}},
		{"deployment made despite the 502", lost(`/deployments$`), func(pr int) error {
			_, err := c.CreateDeployment(ctx, repo, gh.Deployment{Ref: head, Environment: fmt.Sprint("env", pr), Description: "rollout"})
			return err
		}, func(t *testing.T, pr int) {
			n := 0
			for _, d := range sim.Deployments("acme/shop") {
				if d.GetEnvironment() == fmt.Sprint("env", pr) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d deployments, want 1", n)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			branch := fmt.Sprint("change-", i)
			pr := w.OpenPR(t, branch, "alice", map[string]string{"a": branch})
			for _, f := range tt.faults {
				if err := sim.InjectFault(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.write(pr); err != nil {
				t.Fatalf("write: %v", err)
			}
			if n := sim.PendingFaults(); n != 0 {
				t.Fatalf("%d faults not met", n)
			}
			tt.check(t, pr)
		})
	}
}

func countRuns(sim *githubsim.Sim, name string) int {
	n := 0
	for _, run := range sim.CheckRuns("acme/shop") {
		if run.GetName() == name {
			n++
		}
	}
	return n
}

func TestUncertain(t *testing.T) {
	answered := func(code int) error {
		return &github.ErrorResponse{Response: &http.Response{StatusCode: code, Request: &http.Request{Method: "POST", URL: &url.URL{}}}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"502", fmt.Errorf("comment: %w", answered(502)), true},
		{"504", answered(504), true},
		{"422", answered(422), false},
		{"404", answered(404), false},
		{"secondary limit", &github.AbuseRateLimitError{}, false},
		{"primary limit", &github.RateLimitError{}, false},
		{"limit slipway did not sit out", &url.Error{Op: "Post", URL: "u", Err: &transport.LimitError{Kind: transport.Primary}}, false},
		{"connection reset", &url.Error{Op: "Post", URL: "u", Err: errors.New("read: connection reset by peer")}, true},
		{"attempt timed out", &url.Error{Op: "Post", URL: "u", Err: context.DeadlineExceeded}, true},
	}
	for _, tt := range tests {
		if got := gh.Uncertain(tt.err); got != tt.want {
			t.Errorf("%s: Uncertain = %v, want %v", tt.name, got, tt.want)
		}
	}
}
