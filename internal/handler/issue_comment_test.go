package handler

import (
	"testing"

	"github.com/slipwayhq/slipway/internal/runqueue"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestCommandJob(t *testing.T) {
	tests := []struct {
		name string
		work workflow.Work
		want runqueue.Job
	}{
		// An apply supersedes a running plan but is never cut short itself.
		{"apply", workflow.Work{What: "apply", Applies: true}, runqueue.Job{Key: "acme/shop#7", Supersedes: true}},
		{"plan", workflow.Work{What: "plan"}, runqueue.Job{Key: "acme/shop#7", Supersedes: true, Interruptible: true}},
		{"unlock", workflow.Work{What: "unlock"}, runqueue.Job{Key: "acme/shop#7", Supersedes: true, Interruptible: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := commandJob("acme/shop#7", &tt.work)
			if got.Key != tt.want.Key || got.Supersedes != tt.want.Supersedes || got.Interruptible != tt.want.Interruptible || got.Coalesce != tt.want.Coalesce {
				t.Errorf("commandJob = %+v, want %+v", got, tt.want)
			}
		})
	}
}
