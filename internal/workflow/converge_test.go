package workflow

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
)

func TestNextStep(t *testing.T) {
	const bot = "slipway[bot]"
	rec := func(ref, state string) gh.DeploymentRecord {
		return gh.DeploymentRecord{Ref: ref, State: state, Tool: deploymentTool, Creator: bot}
	}
	rolledBack := func(ref, from string) gh.DeploymentRecord {
		r := rec(ref, "success")
		r.RollbackOf = from
		return r
	}
	foreign := rec("head", "success")
	foreign.Creator = "mallory"
	otherTool := rec("head", "success")
	otherTool.Tool = "actions"
	tests := []struct {
		name string
		recs []gh.DeploymentRecord // newest first
		want step
	}{
		{"never deployed", nil, stepFromRoot},
		{"at the head", []gh.DeploymentRecord{rec("head", "success"), rec("old", "inactive")}, stepNone},
		{"behind the head", []gh.DeploymentRecord{rec("old", "success")}, stepCompare},
		{"the head failed: not retried", []gh.DeploymentRecord{rec("head", "failure"), rec("old", "success")}, stepFailed},
		{"the head erred (interrupted, unreachable): retried", []gh.DeploymentRecord{rec("head", "error"), rec("old", "success")}, stepCompare},
		{"the head is being deployed", []gh.DeploymentRecord{rec("head", "in_progress"), rec("old", "success")}, stepBusy},
		{"the head has no status yet", []gh.DeploymentRecord{rec("head", ""), rec("old", "success")}, stepBusy},
		{"an older commit failed since the last success", []gh.DeploymentRecord{rec("mid", "failure"), rec("old", "success")}, stepCompare},
		{"another user's record at the head does not count", []gh.DeploymentRecord{foreign, rec("old", "success")}, stepCompare},
		{"another tool's record at the head does not count", []gh.DeploymentRecord{otherTool}, stepFromRoot},
		{"rolled back from the head: left alone", []gh.DeploymentRecord{rolledBack("old", "head"), rec("head", "inactive")}, stepNone},
		{"rolled back from an older head: the new head deploys", []gh.DeploymentRecord{rolledBack("old", "mid"), rec("mid", "inactive")}, stepCompare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextStep(historyOf(tt.recs, bot), "head"); got != tt.want {
				t.Errorf("nextStep = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRollbackTarget(t *testing.T) {
	const bot = "slipway[bot]"
	rec := func(ref, state string) gh.DeploymentRecord {
		return gh.DeploymentRecord{Ref: ref, State: state, Tool: deploymentTool, Creator: bot}
	}
	c, b, a := "cccccccc11", "bbbbbbbb22", "aaaaaaaa33"
	history := []gh.DeploymentRecord{rec(c, "success"), rec("f00dbeef99", "failure"), rec(b, "inactive"), rec(b, "inactive"), rec(a, "inactive")}
	foreign := rec(b, "inactive")
	foreign.Creator = "mallory"
	tests := []struct {
		name                string
		recs                []gh.DeploymentRecord
		ref                 string
		wantCurrent, target string
		why                 string
	}{
		{"the good deploy before the current one", history, "", c, b, ""},
		{"a named earlier good deploy", history, "aaaaaaa", c, a, ""},
		{"a failed deploy is no target", history, "f00dbeef", c, "", "never deployed `f00dbeef` successfully"},
		{"the current commit", history, "cccccccc", c, "", "runs ccccccc already"},
		{"nothing earlier", history[:1], "", c, "", "nothing earlier"},
		{"never deployed", nil, "", "", "", "never deployed this environment"},
		{"another creator's record is no target", []gh.DeploymentRecord{rec(c, "success"), foreign}, "", c, "", "nothing earlier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current, target, why := rollbackTarget(tt.recs, bot, tt.ref)
			if current != tt.wantCurrent || target != tt.target || (tt.why == "") != (why == "") || !strings.Contains(why, tt.why) {
				t.Errorf("rollbackTarget = %q, %q, %q; want %q, %q, containing %q", current, target, why, tt.wantCurrent, tt.target, tt.why)
			}
		})
	}
}
