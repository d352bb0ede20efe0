package workflow

import (
	"slices"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/ghport"
)

// TestPushers reads back who pushed a head only from the last line of
// slipway's plan runs: the lines above carry the pull request's manifests.
func TestPushers(t *testing.T) {
	planRun := func(summary string) ghport.CheckRunState {
		return ghport.CheckRunState{Name: checkPlanPrefix + "staging", Summary: summary}
	}
	tests := []struct {
		name string
		runs []ghport.CheckRunState
		want []string
	}{
		{"recorded", []ghport.CheckRunState{planRun(withPusher("## plan", "bob"))}, []string{"bob"}},
		{"a bot", []ghport.CheckRunState{planRun(withPusher("## plan", "dependabot[bot]"))}, []string{"dependabot[bot]"}},
		{"several runs, once each", []ghport.CheckRunState{
			planRun(withPusher("a", "bob")), planRun(withPusher("b", "alice")), planRun(withPusher("c", "Bob")),
		}, []string{"bob", "alice"}},
		{"not recorded", []ghport.CheckRunState{planRun("## plan"), planRun(withPusher("x", ""))}, nil},
		{"a line above the last is the manifests'", []ghport.CheckRunState{planRun(pushedByLine("alice") + "\n\n```diff\n+ x\n```")}, nil},
		{"not a login", []ghport.CheckRunState{planRun("x\n<sub>Head commit pushed by @-bob.</sub>")}, nil},
		{"other runs say nothing", []ghport.CheckRunState{{Name: checkPolicyPrefix + "staging", Summary: withPusher("x", "bob")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pushers(tt.runs); !slices.Equal(got, tt.want) {
				t.Errorf("pushers = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPublished: approvals bind to the newest completed plan's digest, as
// first published on the commit.
func TestPublished(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	run := func(env, status, digest string, done time.Time) ghport.CheckRunState {
		return ghport.CheckRunState{Name: checkPlanPrefix + env, Status: status, ExternalID: digest, CompletedAt: done}
	}
	tests := []struct {
		name       string
		runs       []ghport.CheckRunState // newest first
		wantDigest string
		wantAt     time.Time
	}{
		{"none", nil, "", time.Time{}},
		{"one", []ghport.CheckRunState{run("staging", "completed", "A", t0)}, "A", t0},
		{"a re-plan with a new digest", []ghport.CheckRunState{
			run("staging", "completed", "B", t0.Add(time.Hour)), run("staging", "completed", "A", t0),
		}, "B", t0.Add(time.Hour)},
		{"a re-plan with the same digest keeps the first publication", []ghport.CheckRunState{
			run("staging", "completed", "A", t0.Add(2*time.Hour)), run("staging", "completed", "B", t0.Add(time.Hour)), run("staging", "completed", "A", t0),
		}, "A", t0},
		{"a plan still running does not count yet", []ghport.CheckRunState{
			run("staging", "in_progress", "", time.Time{}), run("staging", "completed", "A", t0),
		}, "A", t0},
		{"another environment's plans do not count", []ghport.CheckRunState{
			run("production", "completed", "P", t0.Add(time.Hour)), run("staging", "completed", "A", t0),
		}, "A", t0},
		{"an undated plan is no publication", []ghport.CheckRunState{run("staging", "completed", "A", time.Time{})}, "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, at := published(tt.runs, "staging")
			if d != tt.wantDigest || !at.Equal(tt.wantAt) {
				t.Errorf("published = %q at %v, want %q at %v", d, at, tt.wantDigest, tt.wantAt)
			}
		})
	}
}
