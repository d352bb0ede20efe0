package workflow

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/publish"
	"github.com/slipwayhq/slipway/internal/gh/source"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// lockGitHub is the part of GitHub that locks reach: pull requests by
// number, permissions, team members and comments. Any other call panics
// (the embedded Port is nil), which fails the test that made it.
type lockGitHub struct {
	gh.Port
	prs      map[int]gh.PR
	down     map[int]bool // pull requests GitHub fails to answer for
	perms    map[string]string
	teams    map[string][]string // "org/team" → logins
	comments map[int][]gh.Comment
}

func (f *lockGitHub) PullRequest(_ context.Context, _ gh.Repo, n int) (*gh.PR, error) {
	if f.down[n] {
		return nil, fmt.Errorf("GET pulls/%d: 502 Bad Gateway", n)
	}
	pr, ok := f.prs[n]
	if !ok {
		return nil, fmt.Errorf("GET pulls/%d: 404 Not Found", n)
	}
	return &pr, nil
}

func (f *lockGitHub) Permission(_ context.Context, _ gh.Repo, user string) (string, error) {
	if p, ok := f.perms[user]; ok {
		return p, nil
	}
	return "none", nil
}

func (f *lockGitHub) TeamMember(_ context.Context, org, team, user string) (bool, error) {
	return slices.Contains(f.teams[org+"/"+team], user), nil
}

func (f *lockGitHub) DefaultBranch(context.Context, gh.Repo) (string, string, error) {
	return "main", "mainsha", nil
}

func (f *lockGitHub) React(context.Context, gh.Repo, int64, string) error { return nil }

func (f *lockGitHub) Comments(_ context.Context, _ gh.Repo, n int) ([]gh.Comment, error) {
	return f.comments[n], nil
}

func (f *lockGitHub) CreateComment(_ context.Context, _ gh.Repo, n int, body string) (int64, error) {
	id := int64(n*1000 + len(f.comments[n]) + 1)
	f.comments[n] = append(f.comments[n], gh.Comment{ID: id, Author: "slipway[bot]", Body: body})
	return id, nil
}

func (f *lockGitHub) EditComment(_ context.Context, _ gh.Repo, id int64, body string) error {
	n := int(id / 1000)
	f.comments[n][id%1000-1].Body = body
	return nil
}

// said is everything slipway wrote on pull request n.
func (f *lockGitHub) said(n int) string {
	var out []string
	for _, c := range f.comments[n] {
		out = append(out, c.Body)
	}
	return strings.Join(out, "\n---\n")
}

// lockSource is a Source that has a config (nil: none) and no trees.
type lockSource struct{ cfg *repoconfig.Config }

func (s lockSource) Config(context.Context, string, string, string) (*repoconfig.Config, error) {
	if s.cfg == nil {
		return nil, source.ErrNoConfig
	}
	return s.cfg, nil
}

func (lockSource) Tree(context.Context, string, string, string) (string, func(), error) {
	return "", nil, errors.New("no trees in lock tests")
}

func (lockSource) ChangedFiles(context.Context, string, string, int) ([]string, error) {
	return nil, errors.New("no files in lock tests")
}

const lockRepo = "acme/shop"

// lockSession is a session on acme/shop over a bolt store in which
// pull request #n holds the environments held[n].
func lockSession(t *testing.T, fake *lockGitHub, cfg *repoconfig.Config, held map[int][]string) (*Session, lock.Store) {
	t.Helper()
	store, err := lock.OpenBolt(filepath.Join(t.TempDir(), "locks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for n, envs := range held {
		for _, env := range envs {
			if err := store.Acquire(t.Context(), lock.Key{Repo: lockRepo, Env: env}, lock.Holder{PR: n}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fake.comments == nil {
		fake.comments = map[int][]gh.Comment{}
	}
	s := &Session{
		Runner: &Runner{Bot: "slipway[bot]", Locks: store, Unlockers: []string{"dana", "acme/sre"}},
		GitHub: fake,
		Source: lockSource{cfg},
		Repo:   gh.Repo{Owner: "acme", Name: "shop"},
	}
	return s, store
}

// holders maps each locked environment of acme/shop to its pull request.
func holders(t *testing.T, store lock.Store) map[string]int {
	t.Helper()
	held, err := store.List(t.Context(), lockRepo)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for env, h := range held {
		out[env] = h.PR
	}
	return out
}

func sameHolders(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// A lost `closed` webhook (or a merge whose deploy never ran) must not
// leave a lock held: the resync asks GitHub about every holder and
// releases the locks of those no longer open, and only those.
func TestResyncReleasesLocksOfClosedPullRequests(t *testing.T) {
	fake := &lockGitHub{
		prs: map[int]gh.PR{
			1: {Number: 1, State: "open"},
			2: {Number: 2, State: "closed"},
			3: {Number: 3, State: "closed", Merged: true},
		},
		down:     map[int]bool{4: true},
		comments: map[int][]gh.Comment{2: {{ID: 2001, Author: "slipway[bot]", Body: publish.PlanMarker + "\n### slipway plan for abc1234\n"}}},
	}
	s, store := lockSession(t, fake, nil, map[int][]string{1: {"staging"}, 2: {"production", "qa"}, 3: {"eu"}, 4: {"us"}})
	other := lock.Key{Repo: "acme/other", Env: "production"}
	if err := store.Acquire(t.Context(), other, lock.Holder{PR: 2}); err != nil {
		t.Fatal(err)
	}

	// No .slipway.yaml any more: the locks are released all the same.
	if _, err := s.Resync(t.Context(), func(time.Time) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if got, want := holders(t, store), map[string]int{"staging": 1, "us": 4}; !sameHolders(got, want) {
		t.Errorf("after the resync the locks are %v, want %v: closed and merged holders released, open and unknown ones kept", got, want)
	}
	if h, err := store.Holder(t.Context(), other); err != nil || h == nil || h.PR != 2 {
		t.Errorf("another repository's lock of #2: %+v %v; want it kept", h, err)
	}
	if !strings.Contains(fake.said(2), "is closed: the plan below is stale and its locks are released") {
		t.Errorf("#2's plan was not marked stale:\n%s", fake.said(2))
	}

	// GitHub answers for #4 again: the next pass releases it once it closed.
	delete(fake.down, 4)
	fake.prs[4] = gh.PR{Number: 4, State: "closed"}
	if err := s.releaseStaleLocks(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := holders(t, store), map[string]int{"staging": 1}; !sameHolders(got, want) {
		t.Errorf("locks %v, want %v", got, want)
	}
}

func TestReleaseStaleLocksReportsWhatItCouldNotAsk(t *testing.T) {
	fake := &lockGitHub{prs: map[int]gh.PR{}, down: map[int]bool{9: true}}
	s, store := lockSession(t, fake, nil, map[int][]string{9: {"staging"}})
	err := s.releaseStaleLocks(t.Context())
	if err == nil || !strings.Contains(err.Error(), "#9") {
		t.Errorf("error %v, want one naming #9", err)
	}
	if got := holders(t, store); got["staging"] != 9 {
		t.Errorf("locks %v: a holder GitHub could not be asked about keeps its lock", got)
	}
}

func lockConfig(t *testing.T) *repoconfig.Config {
	t.Helper()
	cfg, err := repoconfig.Parse(".slipway.yaml", []byte("version: 1\nenvironments:\n"+
		"  - {name: staging, path: deploy/staging, cluster: c}\n"+
		"  - {name: production, path: deploy/production, cluster: c}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// comment runs one comment through Comment and, when it returns work, the
// work, as the queue would.
func comment(t *testing.T, s *Session, number int, user, body string) {
	t.Helper()
	work, err := s.Comment(t.Context(), CommentRequest{Number: number, CommentID: 1, User: user, Body: body, AppSlug: "slipway"})
	if err != nil {
		t.Fatal(err)
	}
	if work != nil {
		if err := work.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnlockCommand(t *testing.T) {
	perms := map[string]string{"carol": "admin", "bob": "write", "mia": "maintain", "dana": "read", "sam": "read", "rita": "read"}
	teams := map[string][]string{"acme/sre": {"sam"}}
	tests := []struct {
		name       string
		number     int // the pull request commented on; #12 holds production and staging, #13 holds nothing
		state      string
		user, body string
		want       map[string]int // locks afterwards
		reply      []string       // in slipway's answer on the commented pull request
		holderTold []string       // in what #12 is told (when #13 is commented on)
	}{
		{name: "writer's force is refused, naming who may", number: 13, user: "bob", body: "/unlock production --force",
			want:  map[string]int{"production": 12, "staging": 12},
			reply: []string{"@bob `/unlock --force` refused, no lock was released", "admins of this repository and the server's unlockers (dana, acme/sre)", "@bob has write"}},
		{name: "maintainer's force is refused", number: 13, user: "mia", body: "/unlock production --force",
			want: map[string]int{"production": 12, "staging": 12}, reply: []string{"refused", "@mia has maintain"}},
		{name: "admin forces", number: 13, user: "carol", body: "/unlock production --force",
			want:       map[string]int{"staging": 12},
			reply:      []string{"@carol force-released the `production` lock held by #12."},
			holderTold: []string{"@carol force-released the `production` lock held by #12 (from #13)", "takes it again on its next plan"}},
		{name: "listed unlocker without write forces", number: 13, user: "dana", body: "/unlock production staging --force",
			want:  map[string]int{},
			reply: []string{"@dana force-released the `production` lock held by #12.", "@dana force-released the `staging` lock held by #12."}},
		{name: "unlocker team member forces", number: 13, user: "sam", body: "@slipway unlock staging --force",
			want: map[string]int{"production": 12}, reply: []string{"@sam force-released the `staging` lock"}},
		{name: "reader without listing is refused", number: 13, user: "rita", body: "/unlock staging --force",
			want: map[string]int{"production": 12, "staging": 12}, reply: []string{"refused", "@rita has read"}},
		{name: "force on a free environment", number: 12, user: "carol", body: "/unlock production --force",
			want: map[string]int{"staging": 12}, reply: []string{"Released the lock on `production`."}},
		{name: "plain unlock of another's lock names it and --force", number: 13, user: "bob", body: "/unlock production",
			want:  map[string]int{"production": 12, "staging": 12},
			reply: []string{"#13 holds no environment locks", "`production` is held by #12", "`/unlock production --force`"}},
		{name: "unlock on a closed pull request", number: 12, state: "closed", user: "bob", body: "/unlock",
			want: map[string]int{}, reply: []string{"Released the lock on `production`, `staging`."}},
		{name: "unlock one on a closed pull request", number: 12, state: "closed", user: "bob", body: "/unlock staging",
			want: map[string]int{"production": 12}, reply: []string{"Released the lock on `staging`."}},
		{name: "reader's unlock on a closed pull request is still refused", number: 12, state: "closed", user: "rita", body: "/unlock",
			want: map[string]int{"production": 12, "staging": 12}, reply: []string{"needs write permission"}},
		{name: "plan on a closed pull request is still refused", number: 12, state: "closed", user: "bob", body: "/plan",
			want: map[string]int{"production": 12, "staging": 12}, reply: []string{"#12 is closed, so there is nothing to plan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := tt.state
			if state == "" {
				state = "open"
			}
			fake := &lockGitHub{perms: perms, teams: teams, prs: map[int]gh.PR{
				12: {Number: 12, State: "open", BaseRef: "main", HeadRepo: lockRepo},
				13: {Number: 13, State: "open", BaseRef: "main", HeadRepo: lockRepo},
			}}
			pr := fake.prs[tt.number]
			pr.State = state
			fake.prs[tt.number] = pr
			s, store := lockSession(t, fake, lockConfig(t), map[int][]string{12: {"production", "staging"}})
			comment(t, s, tt.number, tt.user, tt.body)
			if got := holders(t, store); !sameHolders(got, tt.want) {
				t.Errorf("locks %v, want %v", got, tt.want)
			}
			said := fake.said(tt.number)
			for _, w := range tt.reply {
				if !strings.Contains(said, w) {
					t.Errorf("#%d was told:\n%s\nwant it to say %q", tt.number, said, w)
				}
			}
			if tt.number == 12 {
				return
			}
			told := fake.said(12)
			if len(tt.holderTold) == 0 && len(tt.want) == 2 && told != "" {
				t.Errorf("#12 was told %q though its locks were not touched", told)
			}
			for _, w := range tt.holderTold {
				if !strings.Contains(told, w) {
					t.Errorf("#12 was told:\n%s\nwant it to say %q", told, w)
				}
			}
		})
	}
}

// The policy's lock item reads the store: another pull request's lock
// fails it, this pull request's own or none passes.
func TestLockState(t *testing.T) {
	s, _ := lockSession(t, &lockGitHub{}, nil, map[int][]string{12: {"production"}})
	for _, tt := range []struct {
		env    string
		number int
		want   string
	}{
		{"production", 13, "{Holder:12 Mine:false Err:<nil>}"},
		{"production", 12, "{Holder:12 Mine:true Err:<nil>}"},
		{"staging", 13, "{Holder:0 Mine:false Err:<nil>}"},
	} {
		if got := fmt.Sprintf("%+v", s.lockState(t.Context(), tt.env, tt.number)); got != tt.want {
			t.Errorf("%s for #%d: %s, want %s", tt.env, tt.number, got, tt.want)
		}
	}
	s.Locks.Close()
	if got := s.lockState(t.Context(), "production", 13); got.Err == nil {
		t.Errorf("a closed store read as %+v, want an error", got)
	}
}
