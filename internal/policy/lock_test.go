package policy

import (
	"context"
	"errors"
	"testing"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

func TestLockItem(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		lock      LockState
		wantItem  bool
		wantMet   bool
		wantWhy   []string
		wantTitle string
	}{
		{name: "on-merge, free", mode: repoconfig.ModeOnMerge, wantItem: true, wantMet: true,
			wantWhy: []string{"no other pull request holds the production lock"}, wantTitle: "all 2 requirements met"},
		{name: "on-merge, held by this pull request", mode: repoconfig.ModeOnMerge, lock: LockState{Holder: 7, Mine: true}, wantItem: true, wantMet: true,
			wantWhy: []string{"this pull request holds the production lock"}, wantTitle: "all 2 requirements met"},
		{name: "on-merge, held by another", mode: repoconfig.ModeOnMerge, lock: LockState{Holder: 12}, wantItem: true,
			wantWhy:   []string{"production is locked by #12", "would deploy over it", "#12 merges or closes", "/unlock production on #12", "/unlock production --force"},
			wantTitle: "production is locked by #12 · 1 of 2 requirements met"},
		{name: "on-merge, store unreadable", mode: repoconfig.ModeOnMerge, lock: LockState{Err: errors.New("leases is forbidden")}, wantItem: true,
			wantWhy: []string{"could not be read", "leases is forbidden", "/plan"}, wantTitle: "1 of 2 requirements met"},
		{name: "on-merge, an error wins over a holder", mode: repoconfig.ModeOnMerge, lock: LockState{Holder: 7, Mine: true, Err: errors.New("timeout")}, wantItem: true,
			wantWhy: []string{"could not be read"}, wantTitle: "1 of 2 requirements met"},
		// /apply refuses a before-merge environment someone else holds; the
		// policy does not weigh it twice.
		{name: "before-merge, held by another", mode: repoconfig.ModeBeforeMerge, lock: LockState{Holder: 12}, wantTitle: "all 1 requirement met"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &repoconfig.Environment{Name: "production", Mode: tt.mode}
			res := Evaluate(t.Context(), Input{Env: env, HeadSHA: head, Lock: tt.lock}, &fakeDir{})
			var item *Item
			for i := range res.Items {
				if res.Items[i].Kind == ItemLock {
					item = &res.Items[i]
				}
			}
			if (item != nil) != tt.wantItem {
				t.Fatalf("lock item listed: %v, want %v (%+v)", item != nil, tt.wantItem, res.Items)
			}
			if got := res.Title(); got != tt.wantTitle {
				t.Errorf("title %q, want %q", got, tt.wantTitle)
			}
			if item == nil {
				return
			}
			if res.Items[1].Kind != ItemLock {
				t.Errorf("the lock item is not right after approvals: %+v", res.Items)
			}
			if item.Met != tt.wantMet || res.Passed() != tt.wantMet {
				t.Errorf("met %v, passed %v; want %v", item.Met, res.Passed(), tt.wantMet)
			}
			containsAll(t, "reason", item.Reason, tt.wantWhy)
			if got := item.Label(); got != "lock" {
				t.Errorf("the lock item is labelled %q", got)
			}
		})
	}
}

func TestMayForceUnlock(t *testing.T) {
	tests := []struct {
		name      string
		unlockers []string
		user      string
		dir       fakeDir
		want      bool
		wantWhy   []string
		wantErr   bool
	}{
		{name: "admin", user: "carol", dir: fakeDir{perms: map[string]string{"carol": "admin"}}, want: true},
		{name: "admin, unlockers listed", unlockers: []string{"org/sre"}, user: "carol", dir: fakeDir{perms: map[string]string{"carol": "admin"}}, want: true},
		{name: "listed login without write", unlockers: []string{"Dana"}, user: "dana", dir: fakeDir{perms: map[string]string{"dana": "read"}}, want: true},
		{name: "listed team member", unlockers: []string{"alice", "org/sre"}, user: "bob", dir: fakeDir{perms: map[string]string{"bob": "write"}, teams: map[string][]string{"org/sre": {"bob"}}}, want: true},
		{name: "writer, nobody listed", user: "bob", dir: fakeDir{perms: map[string]string{"bob": "write"}},
			wantWhy: []string{"only admins of this repository may release another pull request's lock", "@bob has write permission"}},
		{name: "maintainer not listed", unlockers: []string{"alice", "org/sre"}, user: "mia", dir: fakeDir{perms: map[string]string{"mia": "maintain"}},
			wantWhy: []string{"admins of this repository and the server's unlockers (alice, org/sre)", "@mia has maintain"}},
		{name: "directory down", user: "carol", dir: fakeDir{err: errGitHubDown}, wantErr: true},
		{name: "not in the team", unlockers: []string{"org/sre-team"}, user: "bob", dir: fakeDir{perms: map[string]string{"bob": "write"}},
			wantWhy: []string{"unlockers (org/sre-team)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why, err := MayForceUnlock(t.Context(), tt.user, tt.unlockers, &tt.dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if ok != tt.want {
				t.Errorf("MayForceUnlock = %v (%q), want %v", ok, why, tt.want)
			}
			if ok && why != "" {
				t.Errorf("a yes came with a reason %q", why)
			}
			containsAll(t, "reason", why, tt.wantWhy)
		})
	}
}

// A team lookup that fails must not be taken for "not a member": the
// caller refuses and says GitHub could not be asked.
func TestMayForceUnlockTeamLookupFails(t *testing.T) {
	dir := &teamDown{fakeDir: fakeDir{perms: map[string]string{"bob": "write"}}}
	ok, _, err := MayForceUnlock(t.Context(), "bob", []string{"org/sre-team"}, dir)
	if ok || err == nil {
		t.Errorf("ok %v err %v: want a refusal with the error", ok, err)
	}
}

type teamDown struct{ fakeDir }

func (d *teamDown) TeamMember(context.Context, string, string, string) (bool, error) {
	return false, errGitHubDown
}
