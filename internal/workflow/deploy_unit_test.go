package workflow

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/report"
)

// chainConfig lists production before staging, on which it depends: the
// deploy loop must still start with staging.
const chainConfig = `version: 1
environments:
  - name: production
    path: deploy/production
    cluster: test
    depends_on: [staging]
  - name: staging
    path: deploy/staging
    cluster: test
  - name: docs
    path: deploy/docs
    cluster: test
`

const mergeSHA = "m3m3m3m3m3m3m3m3"

// A merge deploys the on-merge environments it changed in depends_on
// order (then file order), each recorded as a Deployment by the bot with
// the plan in its payload; a failed environment stops its dependents and
// everything after it, which are reported as not started and get no
// Deployment.
func TestUnitDeployOrder(t *testing.T) {
	tests := []struct {
		name    string
		fail    string   // environment whose apply fails
		applied []string // in order
		states  []string // the deployments' final states, in order
		skipped map[string]string
	}{
		{name: "all succeed", applied: []string{"staging", "production", "docs"}, states: []string{"success", "success", "success"}},
		{name: "staging fails", fail: "staging", applied: []string{"staging"}, states: []string{"failure"},
			skipped: map[string]string{"production": "not started: `staging` failed", "docs": "not started: `staging` failed"}},
		{name: "production fails", fail: "production", applied: []string{"staging", "production"}, states: []string{"success", "failure"},
			skipped: map[string]string{"docs": "not started: `production` failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newUnitWorld(t)
			ctx := context.Background()
			base := map[string]string{
				".slipway.yaml":            chainConfig,
				"deploy/staging/a.yaml":    configMap("a", "v1"),
				"deploy/production/a.yaml": configMap("a", "v1"),
				"deploy/docs/a.yaml":       configMap("a", "v1"),
			}
			changed := []string{"deploy/docs/a.yaml", "deploy/production/a.yaml", "deploy/staging/a.yaml"}
			merged := with(base, map[string]string{})
			for _, f := range changed {
				merged[f] = configMap("a", "v2")
			}
			w.mergedPR(base, merged, changed)
			if tt.fail != "" {
				w.cluster.fail[tt.fail] = "the cluster said no"
			}

			if err := w.s.DeployMerged(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if got := w.cluster.appliedEnvs(); !slices.Equal(got, tt.applied) {
				t.Errorf("applied %v, want %v", got, tt.applied)
			}
			deps := w.gh.Deployments()
			var envs, states []string
			for _, d := range deps {
				envs, states = append(envs, d.Environment), append(states, d.State)
				p, ok := d.Payload.(deploymentPayload)
				if d.Ref != mergeSHA || d.Creator != unitBot || !ok || p.PullRequest != 1 || p.PlanDigest != "sha256:"+d.Environment+"-"+short(mergeSHA) {
					t.Errorf("deployment %+v (payload %+v), want the bot's at the merge commit for #1 with its plan", d.DeploymentRecord, d.Payload)
				}
				if len(d.Statuses) != 2 || d.Statuses[0].State != "in_progress" {
					t.Errorf("deployment of %s has statuses %+v, want in_progress then final", d.Environment, d.Statuses)
				}
			}
			if !slices.Equal(envs, tt.applied) || !slices.Equal(states, tt.states) {
				t.Errorf("deployments %v in states %v, want %v in %v", envs, states, tt.applied, tt.states)
			}
			for _, env := range tt.applied {
				r, ok := w.runNamed(mergeSHA, checkApplyPrefix+env)
				want := "success"
				if env == tt.fail {
					want = "failure"
				}
				if !ok || r.Conclusion != want {
					t.Errorf("%s apply run %+v (found %v), want %s", env, r, ok, want)
				}
			}
			comments := w.gh.BotComments(1)
			if len(comments) != 1 || !strings.Contains(comments[0].Body, "Merge-to-deploy of "+short(mergeSHA)) {
				t.Fatalf("comments on #1 %+v, want the outcome", comments)
			}
			for env, why := range tt.skipped {
				if !strings.Contains(comments[0].Body, "| ⏭️ `"+env+"` | "+report.TableCell(why)) {
					t.Errorf("the outcome does not say %s was %q:\n%s", env, why, comments[0].Body)
				}
			}
		})
	}
}
