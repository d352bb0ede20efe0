package policy

import (
	"testing"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

func TestApprovals(t *testing.T) {
	sre := map[string][]string{"org/sre-team": {"bob", "frank"}}
	tests := []struct {
		name      string
		approvals int
		approvers []string
		reviews   []Review
		dir       fakeDir
		wantMet   bool
		want      []string // substrings of the reason
		noCalls   bool     // the directory must not be asked
	}{
		{
			name: "approval at the head from a listed login", approvals: 1, approvers: []string{"org/sre-team", "alice"},
			reviews: []Review{approved("alice", head)},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: alice"}, noCalls: true,
		},
		{
			name: "logins compare case-insensitively", approvals: 1, approvers: []string{"Alice"},
			reviews: []Review{approved("aLiCe", head)},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: aLiCe"},
		},
		{
			name: "stale approval", approvals: 1, approvers: []string{"alice"},
			reviews: []Review{approved("alice", old)},
			want:    []string{"needs 1 approving review at a1b2c3d from alice (the author does not count)", "alice approved an older commit"},
		},
		{
			name: "re-approval at the head replaces a stale one", approvals: 1, approvers: []string{"alice"},
			reviews: []Review{approved("alice", old), approved("alice", head)},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: alice"},
		},
		{
			name: "author's approval ignored", approvals: 1,
			reviews: []Review{approved("Rita", head)},
			dir:     fakeDir{perms: map[string]string{"rita": "admin"}},
			want:    []string{"needs 1 approving review at a1b2c3d from someone with write access (the author does not count)"}, noCalls: true,
		},
		{
			name: "team approver through the directory", approvals: 1, approvers: []string{"org/sre-team", "alice"},
			reviews: []Review{approved("bob", head)},
			dir:     fakeDir{teams: sre},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: bob"},
		},
		{
			name: "approval from outside the team", approvals: 1, approvers: []string{"org/sre-team"},
			reviews: []Review{approved("carol", head)},
			dir:     fakeDir{teams: sre},
			want:    []string{"needs 1 approving review at a1b2c3d from org/sre-team", "carol approved but is not an approver"},
		},
		{
			name: "CHANGES_REQUESTED after APPROVED cancels", approvals: 1, approvers: []string{"org/sre-team"},
			reviews: []Review{approved("bob", head), {User: "bob", State: ReviewChangesRequested, CommitID: head}},
			dir:     fakeDir{teams: sre},
			want:    []string{"needs 1 approving review", "bob requested changes"},
		},
		{
			name: "COMMENTED after APPROVED keeps the approval", approvals: 1, approvers: []string{"org/sre-team"},
			reviews: []Review{approved("bob", head), {User: "bob", State: "COMMENTED", CommitID: head}},
			dir:     fakeDir{teams: sre},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: bob"},
		},
		{
			name: "DISMISSED after APPROVED cancels", approvals: 1, approvers: []string{"org/sre-team"},
			reviews: []Review{approved("bob", head), {User: "bob", State: ReviewDismissed, CommitID: head}},
			dir:     fakeDir{teams: sre},
			want:    []string{"needs 1 approving review"},
		},
		{
			name: "empty approvers: write permission counts", approvals: 1,
			reviews: []Review{approved("dave", head)},
			dir:     fakeDir{perms: map[string]string{"dave": "write"}},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: dave"},
		},
		{
			name: "empty approvers: read permission does not", approvals: 1,
			reviews: []Review{approved("erin", head)},
			dir:     fakeDir{perms: map[string]string{"erin": "read"}},
			want:    []string{"needs 1 approving review at a1b2c3d from someone with write access", "erin approved but has no write access"},
		},
		{
			name: "one of two", approvals: 2, approvers: []string{"org/sre-team", "alice"},
			reviews: []Review{approved("alice", head), approved("carol", head)},
			dir:     fakeDir{teams: sre},
			want:    []string{"1 of 2 approvals at a1b2c3d: alice; needs 1 more from org/sre-team or alice (the author does not count)", "carol approved but is not an approver"},
		},
		{
			name: "more than required", approvals: 1, approvers: []string{"org/sre-team"},
			reviews: []Review{approved("bob", head), approved("frank", head)},
			dir:     fakeDir{teams: sre},
			wantMet: true, want: []string{"2 approvals at a1b2c3d (1 required): bob, frank"},
		},
		{
			name: "directory down fails the item", approvals: 1, approvers: []string{"org/sre-team"},
			reviews: []Review{approved("bob", head)},
			dir:     fakeDir{err: errGitHubDown},
			want:    []string{"could not check whether bob may approve", "502 Bad Gateway"},
		},
		{
			name: "directory down does not matter once enough approvals are verified", approvals: 1, approvers: []string{"org/sre-team", "alice"},
			reviews: []Review{approved("bob", head), approved("alice", head)},
			dir:     fakeDir{err: errGitHubDown},
			wantMet: true, want: []string{"1 of 1 approval at a1b2c3d: alice"},
		},
		{
			name: "no approvals required", approvals: 0,
			wantMet: true, want: []string{"no approvals required"}, noCalls: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &repoconfig.Environment{Name: "staging", Policy: repoconfig.Policy{Approvals: tt.approvals, Approvers: tt.approvers}}
			dir := tt.dir
			in := Input{Env: env, Author: "rita", Pushers: []string{"rita"}, HeadSHA: head, Reviews: tt.reviews, Plan: planned}
			res := Evaluate(t.Context(), in, &dir)
			it := itemNamed(t, res, "approvals")
			if it.Kind != ItemApprovals || it.Met != tt.wantMet {
				t.Errorf("met = %v, want %v (%s)", it.Met, tt.wantMet, it.Reason)
			}
			containsAll(t, "reason", it.Reason, tt.want)
			if tt.noCalls && dir.calls > 0 {
				t.Errorf("directory asked %d times, want none", dir.calls)
			}
			if res.Passed() != tt.wantMet {
				t.Errorf("Passed() = %v with only an approvals item met=%v", res.Passed(), it.Met)
			}
		})
	}
}

func TestRequirements(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		require string
		in      Input
		wantMet bool
		want    string
	}{
		{name: "mergeable still computing", require: repoconfig.RequireMergeable, want: "GitHub is still computing mergeability"},
		{name: "mergeable with conflicts", require: repoconfig.RequireMergeable, in: Input{Mergeable: &no}, want: "has conflicts with the base branch"},
		{name: "mergeable", require: repoconfig.RequireMergeable, in: Input{Mergeable: &yes}, wantMet: true, want: "no conflicts"},
		{name: "plan current", require: repoconfig.RequirePlanCurrent, in: Input{Plan: PlanState{Current: true, Reason: "plan at a1b2c3d succeeded"}}, wantMet: true, want: "plan at a1b2c3d succeeded"},
		{name: "plan out of date", require: repoconfig.RequirePlanCurrent, in: Input{Plan: PlanState{Reason: "the last plan is at 0f0e0d0; comment /plan"}}, want: "the last plan is at 0f0e0d0"},
		{name: "plan missing without a reason", require: repoconfig.RequirePlanCurrent, want: "no successful plan at a1b2c3d"},
		{name: "checks green, slipway's own ignored", require: repoconfig.RequireChecksGreen, in: Input{Checks: []Check{
			{Name: "ci/test", Status: "completed", Conclusion: "success"},
			{Name: "docs", Status: "completed", Conclusion: "skipped"},
			{Name: "slipway/policy · staging", Status: "in_progress"},
			{Name: "slipway/apply: staging", Status: "queued"},
		}}, wantMet: true, want: "all 2 check runs at a1b2c3d passed"},
		{name: "checks not green", require: repoconfig.RequireChecksGreen, in: Input{Checks: []Check{
			{Name: "ci/test", Status: "in_progress"},
			{Name: "lint", Status: "completed", Conclusion: "failure"},
			{Name: "build", Status: "completed", Conclusion: "neutral"},
		}}, want: "2 of 3 check runs at a1b2c3d not green: ci/test: in_progress, lint: failure"},
		{name: "no checks", require: repoconfig.RequireChecksGreen, wantMet: true, want: "no other check runs at a1b2c3d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Env = &repoconfig.Environment{Name: "staging", Policy: repoconfig.Policy{Require: []string{tt.require}}}
			in.HeadSHA = head
			res := Evaluate(t.Context(), in, &fakeDir{})
			it := itemNamed(t, res, tt.require)
			if it.Kind != ItemRequirement || it.Met != tt.wantMet {
				t.Errorf("met = %v, want %v (%s)", it.Met, tt.wantMet, it.Reason)
			}
			containsAll(t, "reason", it.Reason, []string{tt.want})
		})
	}
}

func TestEvaluateOrderAndTitle(t *testing.T) {
	yes := true
	env := &repoconfig.Environment{Name: "staging", Policy: repoconfig.Policy{
		Approvals: 1, Approvers: []string{"alice"},
		Require: []string{repoconfig.RequireMergeable, repoconfig.RequirePlanCurrent, repoconfig.RequireMergeable},
	}}
	in := Input{Env: env, HeadSHA: head, Mergeable: &yes, Reviews: []Review{approved("alice", head)},
		Plan: PlanState{Digest: digest, PublishedAt: published}} // published, but not current
	res := Evaluate(t.Context(), in, &fakeDir{})
	var names []string
	for _, it := range res.Items {
		names = append(names, it.Name)
	}
	if got := len(names); got != 3 || names[0] != "approvals" || names[1] != "mergeable" || names[2] != "plan-current" {
		t.Errorf("items %v: want approvals, mergeable, plan-current (duplicates once)", names)
	}
	if res.Env != "staging" || res.Passed() || res.Title() != "2 of 3 requirements met" {
		t.Errorf("env %q passed %v title %q", res.Env, res.Passed(), res.Title())
	}
}

func TestMayApply(t *testing.T) {
	tests := []struct {
		name     string
		appliers []string
		user     string
		dir      fakeDir
		want     bool
		wantWhy  string
		wantErr  bool
	}{
		{name: "listed login", appliers: []string{"org/sre-team", "Alice"}, user: "alice", want: true},
		{name: "team member", appliers: []string{"org/sre-team", "alice"}, user: "bob", dir: fakeDir{teams: map[string][]string{"org/sre-team": {"bob"}}}, want: true},
		{name: "not listed", appliers: []string{"org/sre-team", "alice"}, user: "rita", wantWhy: "@rita is not among the appliers of staging: org/sre-team, alice"},
		{name: "empty list: write may", user: "dave", dir: fakeDir{perms: map[string]string{"dave": "maintain"}}, want: true},
		{name: "empty list: triage may not", user: "tess", dir: fakeDir{perms: map[string]string{"tess": "triage"}}, wantWhy: "@tess needs write access to this repository to apply staging"},
		{name: "directory down", appliers: []string{"org/sre-team"}, user: "bob", dir: fakeDir{err: errGitHubDown}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &repoconfig.Environment{Name: "staging", Policy: repoconfig.Policy{Appliers: tt.appliers}}
			ok, why, err := MayApply(t.Context(), env, tt.user, &tt.dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if ok != tt.want || why != tt.wantWhy {
				t.Errorf("MayApply = %v, %q; want %v, %q", ok, why, tt.want, tt.wantWhy)
			}
		})
	}
}
