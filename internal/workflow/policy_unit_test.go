package workflow

import (
	"context"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
)

// A review re-evaluates the policy (PolicyPR): an approval at the head by
// someone with write access other than the author flips the failing
// `slipway/policy` check to success, editing the same run; approvals that
// do not count leave it failing.
func TestUnitPolicyAfterReview(t *testing.T) {
	approvals := strings.Replace(unitConfig, "    depends_on: [staging]\n", "    depends_on: [staging]\n    policy:\n      approvals: 1\n", 1)
	tests := []struct {
		name   string
		review gh.Review
		want   string
	}{
		{"a writer approves the head", gh.Review{User: "bob", State: "APPROVED", CommitID: head1SHA}, "success"},
		{"the author approves", gh.Review{User: "alice", State: "APPROVED", CommitID: head1SHA}, "failure"},
		{"a reader approves", gh.Review{User: "rita", State: "APPROVED", CommitID: head1SHA}, "failure"},
		{"a writer requests changes", gh.Review{User: "bob", State: "CHANGES_REQUESTED", CommitID: head1SHA}, "failure"},
		{"a writer approved another commit", gh.Review{User: "bob", State: "APPROVED", CommitID: head2SHA}, "failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newUnitWorld(t)
			ctx := context.Background()
			base := unitFiles(approvals)
			w.commit(baseSHA, base)
			w.gh.SetDefaultBranch("main", baseSHA)
			w.commit(head1SHA, with(base, map[string]string{"deploy/production/a.yaml": configMap("a", "v2")}))
			for user, perm := range map[string]string{"alice": "write", "bob": "write", "rita": "read"} {
				w.gh.SetPermission(user, perm)
			}
			w.openUnitPR(1, "alice", baseSHA, head1SHA, "deploy/production/a.yaml")
			if err := w.s.PlanPR(ctx, PlanRequest{Number: 1, Auto: true}); err != nil {
				t.Fatal(err)
			}
			before, ok := w.runNamed(head1SHA, checkPolicyPrefix+"production")
			if !ok || before.Conclusion != "failure" {
				t.Fatalf("policy run before the review %+v (found %v), want a failure", before, ok)
			}

			w.gh.AddReview(1, tt.review)
			if err := w.s.PolicyPR(ctx, 1); err != nil {
				t.Fatal(err)
			}
			after, ok := w.runNamed(head1SHA, checkPolicyPrefix+"production")
			if !ok || after.Conclusion != tt.want {
				t.Errorf("policy run after the review %+v (found %v), want %s", after, ok, tt.want)
			}
			if after.ID != before.ID {
				t.Errorf("policy run %d replaced by %d, want it edited in place", before.ID, after.ID)
			}
			if got := w.cluster.appliedEnvs(); len(got) != 0 {
				t.Errorf("a review applied %v", got)
			}
		})
	}
}
