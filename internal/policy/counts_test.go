package policy

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// TestWhoCounts: an approval counts only from someone who did not push (or,
// when the pusher is unknown, write) the head commit, given after the plan
// it approves was published.
func TestWhoCounts(t *testing.T) {
	at := func(user string, when time.Time) Review {
		return Review{User: user, State: ReviewApproved, CommitID: head, SubmittedAt: when}
	}
	writers := map[string]string{"bob": "write", "carol": "write", "dave": "write"}
	tests := []struct {
		name      string
		approvals int
		pushers   []string
		plan      PlanState
		reviews   []Review
		dir       fakeDir
		wantMet   bool
		want      []string // substrings of the reason
		calls     int      // directory calls expected
	}{
		{
			name: "the pusher's approval does not count", approvals: 1, pushers: []string{"bob"}, plan: planned,
			reviews: []Review{approved("bob", head)},
			want:    []string{"needs 1 approving review", "bob pushed the head commit, so their approval does not count"},
		},
		{
			name: "pushers compare case-insensitively, every recorded one", approvals: 1, pushers: []string{"alice", "BOB"}, plan: planned,
			reviews: []Review{approved("Bob", head), approved("alice", head)},
			want:    []string{"Bob pushed the head commit", "alice pushed the head commit"},
		},
		{
			name: "someone else's approval counts beside the pusher's", approvals: 1, pushers: []string{"bob"}, plan: planned,
			reviews: []Review{approved("bob", head), approved("carol", head)},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: carol"}, calls: 1,
		},
		{
			name: "a known pusher: the commit's author is not asked for", approvals: 1, pushers: []string{"rita"}, plan: planned,
			reviews: []Review{approved("bob", head)},
			dir:     fakeDir{author: "bob"},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: bob"}, calls: 1,
		},
		{
			name: "unknown pusher: the head commit's author stands in", approvals: 1, plan: planned,
			reviews: []Review{approved("bob", head)},
			dir:     fakeDir{author: "BOB", committer: "web-flow"},
			want:    []string{"bob authored the head commit, so their approval does not count"}, calls: 1,
		},
		{
			name: "unknown pusher: the head commit's committer stands in", approvals: 1, plan: planned,
			reviews: []Review{approved("carol", head), approved("dave", head)},
			dir:     fakeDir{perms: writers, author: "rita", committer: "carol"},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: dave"}, calls: 2, // commit once, dave's permission
		},
		{
			name: "unknown pusher: committer named in the reason", approvals: 1, plan: planned,
			reviews: []Review{approved("carol", head)},
			dir:     fakeDir{author: "rita", committer: "carol"},
			want:    []string{"carol committed the head commit, so their approval does not count"}, calls: 1,
		},
		{
			name: "unknown pusher and GitHub cannot say who wrote the commit: nothing counts", approvals: 1, plan: planned,
			reviews: []Review{approved("bob", head), approved("carol", head)},
			dir:     fakeDir{err: errGitHubDown},
			want:    []string{"could not learn who wrote the head commit a1b2c3d, so no approval counts", "502 Bad Gateway"}, calls: 1,
		},
		{
			name: "approval before the current plan was published", approvals: 1, pushers: []string{"rita"}, plan: planned,
			reviews: []Review{at("bob", published.Add(-2*time.Second))},
			dir:     fakeDir{perms: writers},
			want:    []string{"bob approved before the current plan (sha256:0123456789ab…) was published"},
		},
		{
			name: "approval in the second the plan was published counts", approvals: 1, pushers: []string{"rita"},
			plan:    PlanState{Digest: digest, PublishedAt: published.Add(700 * time.Millisecond)},
			reviews: []Review{at("bob", published)},
			dir:     fakeDir{perms: writers},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: bob"}, calls: 1,
		},
		{
			name: "approval after the plan was published counts", approvals: 1, pushers: []string{"rita"}, plan: planned,
			reviews: []Review{at("bob", published.Add(time.Second))},
			dir:     fakeDir{perms: writers},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: bob"}, calls: 1,
		},
		{
			name: "no plan published yet: no approval counts", approvals: 1, pushers: []string{"rita"},
			reviews: []Review{approved("bob", head)},
			dir:     fakeDir{perms: writers},
			want:    []string{"bob approved before any plan of a1b2c3d was published"},
		},
		{
			name: "one approval before and one after the plan", approvals: 2, pushers: []string{"rita"}, plan: planned,
			reviews: []Review{at("bob", published.Add(-time.Minute)), at("carol", published.Add(time.Minute))},
			dir:     fakeDir{perms: writers},
			want:    []string{"1 of 2 approvals at a1b2c3d: carol; needs 1 more", "bob approved before the current plan"}, calls: 1,
		},
		{
			name: "no approvals required: nobody is asked", pushers: nil, plan: PlanState{},
			reviews: []Review{approved("bob", head)},
			wantMet: true, want: []string{"no approvals required"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &repoconfig.Environment{Name: "staging", Policy: repoconfig.Policy{Approvals: tt.approvals}}
			dir := tt.dir
			if dir.perms == nil {
				dir.perms = writers
			}
			in := Input{Env: env, Author: "rita", Pushers: tt.pushers, HeadSHA: head, Reviews: tt.reviews, Plan: tt.plan}
			it := itemNamed(t, Evaluate(t.Context(), in, &dir), "approvals")
			if it.Met != tt.wantMet {
				t.Errorf("met = %v, want %v (%s)", it.Met, tt.wantMet, it.Reason)
			}
			containsAll(t, "reason", it.Reason, tt.want)
			if dir.calls != tt.calls {
				t.Errorf("directory asked %d times, want %d", dir.calls, tt.calls)
			}
		})
	}
}
