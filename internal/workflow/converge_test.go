package workflow

import (
	"testing"

	"github.com/slipwayhq/slipway/internal/ghport"
)

func TestNextStep(t *testing.T) {
	const bot = "slipway[bot]"
	rec := func(ref, state string) ghport.DeploymentRecord {
		return ghport.DeploymentRecord{Ref: ref, State: state, Tool: deploymentTool, Creator: bot}
	}
	foreign := rec("head", "success")
	foreign.Creator = "mallory"
	otherTool := rec("head", "success")
	otherTool.Tool = "actions"
	tests := []struct {
		name string
		recs []ghport.DeploymentRecord // newest first
		want step
	}{
		{"never deployed", nil, stepFromRoot},
		{"at the head", []ghport.DeploymentRecord{rec("head", "success"), rec("old", "inactive")}, stepNone},
		{"behind the head", []ghport.DeploymentRecord{rec("old", "success")}, stepCompare},
		{"the head failed: not retried", []ghport.DeploymentRecord{rec("head", "failure"), rec("old", "success")}, stepFailed},
		{"the head erred (interrupted, unreachable): retried", []ghport.DeploymentRecord{rec("head", "error"), rec("old", "success")}, stepCompare},
		{"the head is being deployed", []ghport.DeploymentRecord{rec("head", "in_progress"), rec("old", "success")}, stepBusy},
		{"the head has no status yet", []ghport.DeploymentRecord{rec("head", ""), rec("old", "success")}, stepBusy},
		{"an older commit failed since the last success", []ghport.DeploymentRecord{rec("mid", "failure"), rec("old", "success")}, stepCompare},
		{"another user's record at the head does not count", []ghport.DeploymentRecord{foreign, rec("old", "success")}, stepCompare},
		{"another tool's record at the head does not count", []ghport.DeploymentRecord{otherTool}, stepFromRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextStep(historyOf(tt.recs, bot), "head"); got != tt.want {
				t.Errorf("nextStep = %d, want %d", got, tt.want)
			}
		})
	}
}
