package report

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/plan"
)

func TestSummary(t *testing.T) {
	// changes builds a plan with n objects of each action, in the order
	// create, update, delete, unchanged, error.
	changes := func(n ...int) *plan.Plan {
		actions := []plan.Action{plan.Create, plan.Update, plan.Delete, plan.Unchanged, plan.Error}
		p := &plan.Plan{}
		for i, count := range n {
			for range count {
				p.Changes = append(p.Changes, plan.Change{Action: actions[i]})
			}
		}
		return p
	}
	tests := []struct {
		name string
		plan *plan.Plan
		want string
	}{
		{"everything", changes(2, 1, 1, 5), "+2 ~1 -1"},
		{"creates only", changes(3), "+3"},
		{"no creates", changes(0, 3, 2), "~3 -2"},
		{"one error", changes(2, 1, 1, 0, 1), "+2 ~1 -1, 1 error"},
		{"errors only", changes(0, 0, 0, 4, 2), "2 errors"},
		{"nothing to do", changes(0, 0, 0, 7), "no changes"},
		{"empty", &plan.Plan{}, "no changes"},
		{"failed", &plan.Plan{Err: "render: boom", Changes: changes(1).Changes}, "plan failed"},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summary(tt.plan); got != tt.want {
				t.Errorf("Summary() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKeptNote(t *testing.T) {
	kept := plan.Change{Action: plan.Unchanged, Kept: true}
	tests := []struct {
		name    string
		changes []plan.Change
		want    string
	}{
		{"none kept", []plan.Change{{Action: plan.Update}}, ""},
		{"one", []plan.Change{kept, {Action: plan.Delete}}, "1 object no longer rendered is kept in the cluster, not pruned (`prune: false` or annotated `" + plan.PruneAnnotation + ": " + plan.PruneDisabled + "`)."},
		{"two", []plan.Change{kept, kept}, "2 objects no longer rendered are kept in the cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := KeptNote(tt.changes)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("KeptNote = %q, want %q", got, tt.want)
			}
		})
	}
}
