package githubsim

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// TestScriptedWebhooks checks that every scripted action reaches a
// receiver validating signatures the way go-githubapp does, as the
// go-github event type a handler expects.
func TestScriptedWebhooks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	must(t, f.sim.SetPermission(testRepo, "alice", "write"))
	n, err := f.sim.OpenPRWith(testRepo, PROptions{Head: "main", Base: "main"})
	if err == nil {
		t.Fatalf("opened PR #%d from main into main", n)
	}
	f.push(t, "feature", map[string]string{"a.txt": "a"})
	n, err = f.sim.OpenPRWith(testRepo, PROptions{Head: "feature", Title: "Draft", User: "alice", Draft: true})
	must(t, err)
	must(t, f.sim.MarkReady(testRepo, n, "alice"))
	must(t, f.sim.EditPR(testRepo, n, "alice", "Ready", "body"))
	_, err = f.sim.Comment(testRepo, n, "bob", "hi")
	must(t, err)
	_, err = f.sim.Review(testRepo, n, "bob", "COMMENTED")
	must(t, err)
	must(t, f.sim.ClosePR(testRepo, n, "alice"))
	must(t, f.sim.ReopenPR(testRepo, n, "alice"))
	must(t, f.sim.DeleteBranch(testRepo, "feature", "alice"))
	_, err = f.sim.Ping()
	must(t, err)

	want := []string{
		"installation.created", "installation_repositories.added", "push",
		"pull_request.opened", "pull_request.ready_for_review", "pull_request.edited", "issue_comment.created",
		"pull_request_review.submitted", "pull_request.closed", "pull_request.reopened", "push", "pull_request.closed", "ping",
	}
	if got := eventNames(f.hooks.events()); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("received\n %v\nwant\n %v", got, want)
	}
	evs := f.hooks.events()
	if ev := evs[0].Payload.(*github.InstallationEvent); ev.GetInstallation().GetID() != f.inst || ev.GetInstallation().GetAccount().GetLogin() != "acme" {
		t.Errorf("installation event %+v", ev)
	}
	if ev := evs[2].Payload.(*github.PushEvent); ev.GetBefore() != zeroSHA || !ev.GetCreated() || len(ev.Commits) != 1 || ev.GetRepo().GetFullName() != testRepo || ev.GetPusher().GetName() != "alice" {
		t.Errorf("branch-creating push %+v", ev)
	}
	if ev := evs[3].Payload.(*github.PullRequestEvent); !ev.GetPullRequest().GetDraft() || ev.GetPullRequest().GetAuthorAssociation() != "COLLABORATOR" || ev.GetOrganization().GetLogin() != "acme" {
		t.Errorf("opened event %+v", ev)
	}
	if ev := evs[5].Payload.(*github.PullRequestEvent); ev.GetChanges().GetTitle().GetFrom() != "Draft" {
		t.Errorf("edited event %+v", ev)
	}
	if ev := evs[10].Payload.(*github.PushEvent); !ev.GetDeleted() || ev.GetAfter() != zeroSHA {
		t.Errorf("branch deletion push %+v", ev)
	}
	ping := evs[12].Payload.(*github.PingEvent)
	if ping.GetHookID() == 0 || ping.GetHook().GetType() != "App" || ping.GetZen() == "" {
		t.Errorf("ping %+v", ping)
	}
	for _, d := range f.sim.Deliveries() {
		if !d.Sent || !d.OK() || d.Header.Get("X-GitHub-Hook-Installation-Target-Type") != "integration" ||
			!strings.HasPrefix(d.Header.Get("X-Hub-Signature"), "sha1=") || len(d.ID) != 36 {
			t.Errorf("delivery %+v", d)
		}
	}
}

func TestRedeliverAndForgery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	first := f.sim.Deliveries()[0]
	again, err := f.sim.Redeliver(first.ID)
	must(t, err)
	evs := f.hooks.events()
	if !again.Redelivery || again.ID != first.ID || evs[len(evs)-1].Delivery != first.ID || string(evs[len(evs)-1].Raw) != string(first.Payload) {
		t.Errorf("redelivery %+v", again)
	}

	tests := []struct {
		name    string
		headers http.Header
		want    int
	}{
		{"valid", nil, 200},
		{"forged signature", http.Header{"X-Hub-Signature-256": {"sha256=00"}}, 400},
		{"unsigned", http.Header{"X-Hub-Signature-256": {""}, "X-Hub-Signature": {""}}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := f.sim.SendRaw("ping", []byte(`{"zen":"x","hook_id":1}`), tt.headers)
			must(t, err)
			if d.StatusCode != tt.want {
				t.Errorf("status %d (%s), want %d", d.StatusCode, d.ResponseBody, tt.want)
			}
		})
	}
}

func TestDeliveryErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.hooks.failWith(http.StatusInternalServerError)
	_, err := f.sim.Push(testRepo, "main", map[string]string{"x": "y"}, "m", "alice")
	var de *DeliveryError
	if !errors.As(err, &de) || de.Delivery.StatusCode != 500 || de.Delivery.Event != "push" {
		t.Errorf("push with a failing receiver: %v", err)
	}
	if f.sim.Head(testRepo, "main") == "" {
		t.Error("the push itself must still happen")
	}

	f.sim.SetWebhookURL("")
	_, err = f.sim.Push(testRepo, "main", map[string]string{"x": "z"}, "m", "alice")
	must(t, err)
	last := f.sim.Deliveries()[len(f.sim.Deliveries())-1]
	if last.Sent || last.Event != "push" {
		t.Errorf("without a URL deliveries are recorded, not sent: %+v", last)
	}
}
