package workflow

import (
	"slices"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/gh"
)

// TestPushers reads back who pushed a head only from the last line of
// slipway's plan runs: the lines above carry the pull request's manifests.
func TestPushers(t *testing.T) {
	planRun := func(summary string) gh.CheckRunState {
		return gh.CheckRunState{Name: checkPlanPrefix + "staging", Summary: summary}
	}
	tests := []struct {
		name string
		runs []gh.CheckRunState
		want []string
	}{
		{"recorded", []gh.CheckRunState{planRun(withPusher("## plan", "bob"))}, []string{"bob"}},
		{"a bot", []gh.CheckRunState{planRun(withPusher("## plan", "dependabot[bot]"))}, []string{"dependabot[bot]"}},
		{"several runs, once each", []gh.CheckRunState{
			planRun(withPusher("a", "bob")), planRun(withPusher("b", "alice")), planRun(withPusher("c", "Bob")),
		}, []string{"bob", "alice"}},
		{"not recorded", []gh.CheckRunState{planRun("## plan"), planRun(withPusher("x", ""))}, nil},
		{"a line above the last is the manifests'", []gh.CheckRunState{planRun(pushedByLine("alice") + "\n\n```diff\n+ x\n```")}, nil},
		{"not a login", []gh.CheckRunState{planRun("x\n<sub>Head commit pushed by @-bob.</sub>")}, nil},
		{"other runs say nothing", []gh.CheckRunState{{Name: checkPolicyPrefix + "staging", Summary: withPusher("x", "bob")}}, nil},
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
	run := func(env, status, digest string, done time.Time) gh.CheckRunState {
		return gh.CheckRunState{Name: checkPlanPrefix + env, Status: status, ExternalID: digest, CompletedAt: done}
	}
	tests := []struct {
		name       string
		runs       []gh.CheckRunState // newest first
		wantDigest string
		wantAt     time.Time
	}{
		{"none", nil, "", time.Time{}},
		{"one", []gh.CheckRunState{run("staging", "completed", "A", t0)}, "A", t0},
		{"a re-plan with a new digest", []gh.CheckRunState{
			run("staging", "completed", "B", t0.Add(time.Hour)), run("staging", "completed", "A", t0),
		}, "B", t0.Add(time.Hour)},
		{"a re-plan with the same digest keeps the first publication", []gh.CheckRunState{
			run("staging", "completed", "A", t0.Add(2*time.Hour)), run("staging", "completed", "B", t0.Add(time.Hour)), run("staging", "completed", "A", t0),
		}, "A", t0},
		{"a plan still running does not count yet", []gh.CheckRunState{
			run("staging", "in_progress", "", time.Time{}), run("staging", "completed", "A", t0),
		}, "A", t0},
		{"another environment's plans do not count", []gh.CheckRunState{
			run("production", "completed", "P", t0.Add(time.Hour)), run("staging", "completed", "A", t0),
		}, "A", t0},
		{"an undated plan is no publication", []gh.CheckRunState{run("staging", "completed", "A", time.Time{})}, "", time.Time{}},
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
