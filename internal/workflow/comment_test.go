package workflow

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/throttle"
)

// fakeGitHub is the part of GitHub that commands and a fork's autoplan
// reach; any other call panics (the embedded Port is nil), which fails the
// test that made it.
type fakeGitHub struct {
	gh.Port
	pr       gh.PR
	perms    map[string]string
	comments []gh.Comment
}

func (f *fakeGitHub) PullRequest(context.Context, gh.Repo, int) (*gh.PR, error) {
	pr := f.pr
	return &pr, nil
}

func (f *fakeGitHub) Permission(_ context.Context, _ gh.Repo, user string) (string, error) {
	if p, ok := f.perms[user]; ok {
		return p, nil
	}
	return "none", nil
}

func (f *fakeGitHub) DefaultBranch(context.Context, gh.Repo) (string, string, error) {
	return "main", "mainsha", nil
}

func (f *fakeGitHub) React(context.Context, gh.Repo, int64, string) error { return nil }

func (f *fakeGitHub) Comments(context.Context, gh.Repo, int) ([]gh.Comment, error) {
	return f.comments, nil
}

func (f *fakeGitHub) CreateComment(_ context.Context, _ gh.Repo, _ int, body string) (int64, error) {
	id := int64(len(f.comments) + 1)
	f.comments = append(f.comments, gh.Comment{ID: id, Author: "slipway[bot]", Body: body})
	return id, nil
}

func (f *fakeGitHub) EditComment(_ context.Context, _ gh.Repo, id int64, body string) error {
	f.comments[id-1].Body = body
	return nil
}

// configOnly is a Source with a config and nothing else: a test that
// fetches a tree (runs the pull request's code) fails.
type configOnly struct {
	t   *testing.T
	cfg *repoconfig.Config
}

func (c configOnly) Config(context.Context, string, string, string) (*repoconfig.Config, error) {
	return c.cfg, nil
}

func (c configOnly) Tree(context.Context, string, string, string) (string, func(), error) {
	c.t.Error("fetched the pull request's tree")
	return "", nil, fmt.Errorf("no tree in this test")
}

func (c configOnly) ChangedFiles(context.Context, string, string, int) ([]string, error) {
	c.t.Error("listed the pull request's files")
	return nil, fmt.Errorf("no files in this test")
}

func commandSession(t *testing.T, pr gh.PR) (*Session, *fakeGitHub) {
	t.Helper()
	cfg, err := repoconfig.Parse(".slipway.yaml", []byte("version: 1\nenvironments:\n  - {name: staging, path: deploy, cluster: c, mode: before-merge}\n"))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeGitHub{pr: pr, perms: map[string]string{"alice": "write", "adam": "admin", "rita": "read", "tom": "triage"}}
	s := &Session{
		Runner: &Runner{Bot: "slipway[bot]", Outsiders: throttle.New(OutsiderReplyWindow, OutsiderReplyKeys)},
		GitHub: fake,
		Source: configOnly{t, cfg},
		Repo:   gh.Repo{Owner: "acme", Name: "shop"},
	}
	return s, fake
}

var openPR = gh.PR{Number: 7, State: "open", HeadSHA: "abcdef0123456789", HeadRepo: "acme/shop", BaseSHA: "base", BaseRef: "main"}

// Permission is weighed before anything is queued: those without write
// permission get a reply and no work; an apply's work is the one kind that
// may not be interrupted.
func TestCommentWork(t *testing.T) {
	closed := openPR
	closed.State = "closed"
	tests := []struct {
		name      string
		pr        gh.PR
		user      string
		body      string
		wantWhat  string // "": no work
		wantApply bool
		wantReply string
	}{
		{"reader's /apply", openPR, "rita", "/apply staging", "", false, "@rita `/apply` refused, nothing was applied: @rita has read permission on acme/shop, and `/apply` needs write"},
		{"reader's bare /apply", openPR, "rita", "/apply", "", false, "`/apply` needs write"},
		{"triager's /apply", openPR, "tom", "/apply staging", "", false, "@tom has triage permission"},
		{"stranger's /apply", openPR, "mallory", "/apply staging", "", false, "@mallory has none permission"},
		{"reader's /plan", openPR, "rita", "/plan", "", false, "`/plan` needs write permission on acme/shop; @rita has read."},
		{"reader's /unlock", openPR, "rita", "/unlock staging", "", false, "`/unlock` needs write permission"},
		{"writer's /apply", openPR, "alice", "/apply staging", "apply", true, ""},
		{"admin's /apply", openPR, "adam", "/apply", "apply", true, ""},
		{"writer's /apply on a closed pull request is answered by the apply", closed, "alice", "/apply staging", "apply", true, ""},
		{"writer's /plan", openPR, "alice", "/plan staging", "plan", false, ""},
		{"writer's /unlock", openPR, "alice", "/unlock", "unlock", false, ""},
		{"writer's /plan on a closed pull request", closed, "alice", "/plan", "", false, "#7 is closed"},
		{"reader's /help is answered", openPR, "rita", "/help", "", false, "/plan"},
		{"reader's typo is answered", openPR, "rita", "/aply", "", false, "did you mean"},
		{"not a command", openPR, "rita", "looks good", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, gh := commandSession(t, tt.pr)
			work, err := s.Comment(context.Background(), CommentRequest{Number: 7, CommentID: 1, User: tt.user, Body: tt.body, AppSlug: "slipway"})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantWhat == "" && work != nil:
				t.Errorf("queued %q work for %s", work.What, tt.user)
			case tt.wantWhat != "" && work == nil:
				t.Errorf("no work, want %q", tt.wantWhat)
			case work != nil && (work.What != tt.wantWhat || work.Applies != tt.wantApply || work.Run == nil):
				t.Errorf("work %q applies=%v, want %q applies=%v", work.What, work.Applies, tt.wantWhat, tt.wantApply)
			}
			if tt.wantReply == "" {
				if len(gh.comments) != 0 {
					t.Errorf("replied %q", gh.comments[0].Body)
				}
				return
			}
			if len(gh.comments) != 1 || !strings.Contains(gh.comments[0].Body, tt.wantReply) {
				t.Errorf("replies %v, want one saying %q", gh.comments, tt.wantReply)
			}
		})
	}
}

// Someone without write permission gets at most one reply per pull request
// in the window, whatever they send; writers are always answered.
func TestOutsiderRepliesLimited(t *testing.T) {
	s, gh := commandSession(t, openPR)
	send := func(number int, user, body string) {
		t.Helper()
		gh.pr.Number = number
		if work, err := s.Comment(context.Background(), CommentRequest{Number: number, CommentID: 1, User: user, Body: body, AppSlug: "slipway"}); err != nil || work != nil {
			t.Fatalf("%s %q on #%d: work %v, err %v", user, body, number, work, err)
		}
	}
	for _, body := range []string{"/apply staging", "/plan", "/help", "/aply", "/apply"} {
		send(7, "rita", body)
	}
	if len(gh.comments) != 1 {
		t.Fatalf("%d replies to rita's five commands on #7, want 1", len(gh.comments))
	}
	send(8, "rita", "/apply")    // another pull request
	send(7, "Mallory", "/apply") // another user
	send(7, "mallory", "/plan")  // the same user, other case
	send(7, "alice", "/help")    // writers are always answered
	send(7, "alice", "/help")
	if got, want := len(gh.comments), 5; got != want {
		for _, c := range gh.comments {
			t.Log(c.Body)
		}
		t.Errorf("%d replies, want %d", got, want)
	}
}

func TestForkGate(t *testing.T) {
	repo := gh.Repo{Owner: "acme", Name: "shop"}
	tests := []struct {
		name     string
		headRepo string
		req      PlanRequest
		wantPlan bool
		wantNote []string // in the note; nil: no note
	}{
		{"branch, autoplan", "acme/shop", PlanRequest{Auto: true}, true, nil},
		{"branch, re-run", "ACME/Shop", PlanRequest{Envs: []string{"staging"}}, true, nil},
		{"fork, autoplan", "mallory/shop", PlanRequest{Auto: true}, false, []string{"comes from the fork mallory/shop", "write permission on acme/shop can comment `/plan`", "never take environment locks"}},
		{"fork, check re-run", "mallory/shop", PlanRequest{Envs: []string{"staging"}}, false, nil},
		{"fork, writer's /plan", "mallory/shop", PlanRequest{ByWriter: true}, true, nil},
		{"fork named like the owner, autoplan", "acme-evil/shop", PlanRequest{Auto: true}, false, []string{"the fork acme-evil/shop"}},
		{"deleted fork, autoplan", "", PlanRequest{Auto: true}, false, []string{"a deleted fork"}},
		{"deleted fork, writer's /plan", "", PlanRequest{ByWriter: true, Envs: []string{"staging"}}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, note := forkGate(&gh.PR{Number: 7, HeadRepo: tt.headRepo}, repo, tt.req)
			if plan != tt.wantPlan {
				t.Errorf("plan = %v, want %v", plan, tt.wantPlan)
			}
			if len(tt.wantNote) == 0 && note != "" {
				t.Errorf("note %q, want none", note)
			}
			for _, w := range tt.wantNote {
				if !strings.Contains(note, w) {
					t.Errorf("note %q does not say %q", note, w)
				}
			}
		})
	}
}

// A fork's pull request is not planned by a push or a re-run: nothing of
// it is fetched or rendered; a push leaves the note in the sticky comment,
// under the heading the resync recognises as "this head was answered".
func TestPlanPRForkWaitsForAWriter(t *testing.T) {
	fork := openPR
	fork.HeadRepo = "mallory/shop"
	s, gh := commandSession(t, fork)
	ctx := context.Background()
	if err := s.PlanPR(ctx, PlanRequest{Number: 7, Envs: []string{"staging"}}); err != nil {
		t.Fatal(err)
	}
	if len(gh.comments) != 0 {
		t.Fatalf("a re-run wrote %q", gh.comments[0].Body)
	}
	if err := s.PlanPR(ctx, PlanRequest{Number: 7, Auto: true}); err != nil {
		t.Fatal(err)
	}
	if len(gh.comments) != 1 {
		t.Fatalf("%d comments after the autoplan, want the sticky one", len(gh.comments))
	}
	body := gh.comments[0].Body
	for _, want := range []string{"slipway plan for " + short(fork.HeadSHA), "comes from the fork mallory/shop", "comment `/plan`"} {
		if !strings.Contains(body, want) {
			t.Errorf("sticky comment does not say %q:\n%s", want, body)
		}
	}
	if !s.plannedHead(ctx, fork, nil) {
		t.Error("the resync would plan this head again and again")
	}
}
