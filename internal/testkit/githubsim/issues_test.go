package githubsim

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestComments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	userComment, err := f.sim.Comment(testRepo, n, "alice", "/slipway plan")
	must(t, err)
	ev := f.hooks.last(t, "issue_comment").Payload.(*github.IssueCommentEvent)
	if ev.GetAction() != "created" || ev.GetComment().GetID() != userComment || ev.GetIssue().GetNumber() != n ||
		!ev.GetIssue().IsPullRequest() || ev.GetInstallation().GetID() != f.inst || ev.GetSender().GetLogin() != "alice" {
		t.Errorf("issue_comment event: %+v", ev)
	}

	c, _, err := f.client.Issues.CreateComment(f.ctx, "acme", "deploy", n, &github.IssueComment{Body: github.String("planning…")})
	must(t, err)
	if c.GetUser().GetLogin() != "slipway[bot]" || c.GetUser().GetType() != "Bot" || !strings.Contains(c.GetHTMLURL(), "/pull/1#issuecomment-") {
		t.Errorf("bot comment: %+v", c)
	}
	edited, _, err := f.client.Issues.EditComment(f.ctx, "acme", "deploy", c.GetID(), &github.IssueComment{Body: github.String("plan: 2 changes")})
	must(t, err)
	if edited.GetBody() != "plan: 2 changes" {
		t.Errorf("edited body %q", edited.GetBody())
	}
	got, _, err := f.client.Issues.GetComment(f.ctx, "acme", "deploy", c.GetID())
	must(t, err)
	if got.GetBody() != "plan: 2 changes" {
		t.Errorf("get after edit: %q", got.GetBody())
	}

	for _, tt := range []struct {
		name string
		size int
		want int
	}{{"at the limit", 65536, 201}, {"over the limit", 65537, 422}} {
		t.Run(tt.name, func(t *testing.T) {
			_, resp, err := f.client.Issues.CreateComment(f.ctx, "acme", "deploy", n, &github.IssueComment{Body: github.String(strings.Repeat("é", tt.size))})
			if resp == nil || resp.StatusCode != tt.want {
				t.Fatalf("status %v, err %v; want %d", resp, err, tt.want)
			}
			var er *github.ErrorResponse
			if tt.want == 422 && (!errors.As(err, &er) || len(er.Errors) != 1 || !strings.Contains(er.Errors[0].Message, "Body is too long (maximum is 65536 characters)")) {
				t.Errorf("error = %v", err)
			}
		})
	}

	var all []*github.IssueComment
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2}}
	for {
		page, resp, err := f.client.Issues.ListComments(f.ctx, "acme", "deploy", n, opts)
		must(t, err)
		all = append(all, page...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) != 3 || all[0].GetID() != userComment || all[1].GetID() != c.GetID() {
		t.Fatalf("listed %d comments", len(all))
	}

	_, err = f.client.Issues.DeleteComment(f.ctx, "acme", "deploy", c.GetID())
	must(t, err)
	if _, _, err := f.client.Issues.GetComment(f.ctx, "acme", "deploy", c.GetID()); statusOf(err) != 404 {
		t.Errorf("deleted comment: %v", err)
	}
	f.sim.Flush()
	var actions []string
	for _, e := range f.hooks.events() {
		if ic, ok := e.Payload.(*github.IssueCommentEvent); ok && ic.GetSender().GetLogin() == "slipway[bot]" {
			actions = append(actions, ic.GetAction())
		}
	}
	if strings.Join(actions, ",") != "created,edited,created,deleted" {
		t.Errorf("webhooks for the app's own comments: %v", actions)
	}
	if _, _, err := f.client.Issues.CreateComment(f.ctx, "acme", "deploy", 99, &github.IssueComment{Body: github.String("x")}); statusOf(err) != 404 {
		t.Errorf("comment on missing PR: %v", err)
	}
}

func TestScriptedCommentEditAndDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	id, err := f.sim.Comment(testRepo, n, "alice", "first")
	must(t, err)
	must(t, f.sim.EditComment(testRepo, id, "alice", "second"))
	ev := f.hooks.last(t, "issue_comment").Payload.(*github.IssueCommentEvent)
	if ev.GetAction() != "edited" || ev.GetChanges().GetBody().GetFrom() != "first" || ev.GetComment().GetBody() != "second" {
		t.Errorf("edited event: %+v", ev)
	}
	must(t, f.sim.DeleteComment(testRepo, id, "alice"))
	if ev := f.hooks.last(t, "issue_comment").Payload.(*github.IssueCommentEvent); ev.GetAction() != "deleted" {
		t.Errorf("deleted event: %+v", ev)
	}
	if got := f.sim.Comments(testRepo, n); len(got) != 0 {
		t.Errorf("comments after delete: %v", got)
	}
}

func TestReactions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"a.txt": "a"})
	id, err := f.sim.Comment(testRepo, n, "alice", "/slipway apply")
	must(t, err)

	tests := []struct {
		content string
		want    int
	}{{"eyes", 201}, {"eyes", 200}, {"rocket", 201}, {"thumbs", 422}}
	for _, tt := range tests {
		_, resp, err := f.client.Reactions.CreateIssueCommentReaction(f.ctx, "acme", "deploy", id, tt.content)
		if resp == nil || resp.StatusCode != tt.want {
			t.Errorf("reacting %q: %v %v, want %d", tt.content, resp, err, tt.want)
		}
	}
	must(t, f.sim.React(testRepo, id, "bob", "+1"))
	listed, _, err := f.client.Reactions.ListIssueCommentReactions(f.ctx, "acme", "deploy", id, nil)
	must(t, err)
	if len(listed) != 3 || listed[0].GetContent() != "eyes" || listed[0].GetUser().GetLogin() != "slipway[bot]" {
		t.Errorf("reactions = %v", listed)
	}
	c, _, err := f.client.Issues.GetComment(f.ctx, "acme", "deploy", id)
	must(t, err)
	if r := c.GetReactions(); r.GetTotalCount() != 3 || r.GetEyes() != 1 || r.GetPlusOne() != 1 {
		t.Errorf("reaction summary %+v", r)
	}
	if got := f.sim.Reactions(testRepo, id); len(got) != 3 {
		t.Errorf("Reactions() = %v", got)
	}
}
