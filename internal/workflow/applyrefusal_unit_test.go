package workflow

import (
	"context"
	"strings"
	"testing"
)

// qaConfig is unitConfig with qa's policy block replaced by policy.
func qaConfig(policy string) string {
	return strings.Replace(unitConfig, "    mode: before-merge\n", "    mode: before-merge\n"+policy, 1)
}

// /apply refuses, with the reason in one reply and nothing applied: a
// reader, a writer who is not among the appliers, a failing policy, a head
// with no successful plan, a pull request from a fork. The last case, with
// everything in place, applies: the refusals are not the only outcome.
func TestUnitApplyRefusals(t *testing.T) {
	tests := []struct {
		name    string
		policy  string // qa's policy block
		user    string
		fork    bool
		noPlan  bool
		want    string // the whole reply, "" for an apply
		applied bool
	}{
		{name: "reader", user: "rita",
			want: "@rita `/apply` refused, nothing was applied: @rita needs write access to this repository to apply qa"},
		{name: "not an applier", policy: "    policy:\n      appliers: [adam, acme/deployers]\n", user: "alice",
			want: "@alice `/apply` refused, nothing was applied: @alice is not among the appliers of qa: adam, acme/deployers"},
		{name: "policy failing", policy: "    policy:\n      approvals: 1\n", user: "alice",
			want: "@alice `/apply` refused, nothing was applied: the `slipway/policy: qa` check does not pass: approvals: needs 1 approving review at " + short(head1SHA) + " from someone with write access (the author does not count)"},
		{name: "no successful plan", user: "alice", noPlan: true,
			want: "@alice `/apply` refused, nothing was applied: `qa` has no successful plan at " + short(head1SHA) + " to apply; comment `/plan qa` and review it first"},
		{name: "from a fork", user: "alice", fork: true,
			want: "@alice `/apply` refused, nothing was applied: #1 comes from the fork mallory/shop; `/apply` runs only pull requests from branches of acme/shop itself. Merge it to deploy it, or push the branch to acme/shop and open a pull request from there."},
		{name: "an applier's team member, everything in place", policy: "    policy:\n      appliers: [adam, acme/deployers]\n", user: "dora", applied: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newUnitWorld(t)
			ctx := context.Background()
			base := unitFiles(qaConfig(tt.policy))
			w.commit(baseSHA, base)
			w.gh.SetDefaultBranch("main", baseSHA)
			w.commit(head1SHA, with(base, map[string]string{"deploy/qa/a.yaml": configMap("a", "v2")}))
			for user, perm := range map[string]string{"alice": "write", "adam": "admin", "rita": "read", "dora": "write"} {
				w.gh.SetPermission(user, perm)
			}
			w.gh.AddTeamMember("acme", "deployers", "dora")
			pr := w.openUnitPR(1, "alice", baseSHA, head1SHA, "deploy/qa/a.yaml")
			if tt.fork {
				pr.HeadRepo = "mallory/shop"
				w.gh.SetPR(pr)
			}
			if !tt.noPlan {
				if err := w.s.PlanPR(ctx, PlanRequest{Number: 1, Envs: []string{"qa"}, ByWriter: true}); err != nil {
					t.Fatal(err)
				}
				if r, ok := w.runNamed(head1SHA, checkPlanPrefix+"qa"); !ok || r.Conclusion != "success" {
					t.Fatalf("qa plan run %+v (found %v), want a success to apply", r, ok)
				}
			}
			before := len(w.gh.BotComments(1))
			cid := w.gh.AddComment(1, tt.user, "/apply qa")
			if err := w.s.ApplyPR(ctx, CommentRequest{Number: 1, CommentID: cid, User: tt.user, Body: "/apply qa"}, []string{"qa"}); err != nil {
				t.Fatal(err)
			}
			replies := w.gh.BotComments(1)[before:]
			applyRun, ran := w.runNamed(head1SHA, checkApplyPrefix+"qa")
			ran = ran && applyRun.Conclusion != "neutral"
			if !tt.applied {
				if len(replies) != 1 || replies[0].Body != tt.want {
					t.Errorf("replies %+v,\nwant exactly %q", replies, tt.want)
				}
				if got := w.cluster.appliedEnvs(); len(got) != 0 {
					t.Errorf("applied %v after a refusal", got)
				}
				if ran || len(w.gh.Deployments()) != 0 {
					t.Errorf("a refused /apply left an apply run (%+v) or %d deployments", applyRun, len(w.gh.Deployments()))
				}
				return
			}
			if got := w.cluster.appliedEnvs(); len(got) != 1 || got[0] != "qa" {
				t.Fatalf("applied %v, want [qa]; replies %+v", got, replies)
			}
			if !ran || applyRun.Conclusion != "success" || applyRun.ExternalID != "sha256:qa-"+short(head1SHA) {
				t.Errorf("apply run %+v, want a success of the reviewed plan", applyRun)
			}
			deps := w.gh.Deployments()
			if len(deps) != 1 || deps[0].Environment != "qa" || deps[0].Ref != head1SHA || deps[0].State != "success" || deps[0].Creator != unitBot {
				t.Errorf("deployments %+v, want one successful qa deployment at the head by the bot", deps)
			}
			// The outcome goes on top of the sticky comment, not in a reply.
			if all := w.gh.BotComments(1); len(replies) != 0 || len(all) != 1 || !strings.Contains(all[0].Body, "/apply by @dora at "+short(head1SHA)) {
				t.Errorf("bot comments %+v, want the outcome in the sticky one", all)
			}
		})
	}
}
