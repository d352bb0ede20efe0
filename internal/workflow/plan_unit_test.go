package workflow

import (
	"context"
	"strings"
	"testing"
)

// unitConfig: staging and production deploy on merge (production after
// staging); qa is applied before merge by /apply.
const unitConfig = `version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
  - name: qa
    path: deploy/qa
    cluster: test
    mode: before-merge
  - name: production
    path: deploy/production
    cluster: test
    depends_on: [staging]
`

func unitFiles(config string) map[string]string {
	return map[string]string{
		".slipway.yaml":            config,
		"deploy/staging/a.yaml":    configMap("a", "v1"),
		"deploy/qa/a.yaml":         configMap("a", "v1"),
		"deploy/production/a.yaml": configMap("a", "v1"),
	}
}

const (
	baseSHA  = "b0b0b0b0b0b0b0b0"
	head1SHA = "a1a1a1a1a1a1a1a1"
	head2SHA = "a2a2a2a2a2a2a2a2"
)

// Two plans of one pull request (a push in between) publish one sticky
// comment, edited in place; each plan reports a check run per affected
// environment, with the plan's digest as its external id, and a neutral
// "not affected" run for every other environment.
func TestUnitPlanPublishing(t *testing.T) {
	w := newUnitWorld(t)
	ctx := context.Background()
	base := unitFiles(unitConfig)
	w.commit(baseSHA, base)
	w.gh.SetDefaultBranch("main", baseSHA)
	w.commit(head1SHA, with(base, map[string]string{"deploy/staging/a.yaml": configMap("a", "v2")}))
	w.commit(head2SHA, with(base, map[string]string{"deploy/staging/a.yaml": configMap("a", "v2"), "deploy/qa/a.yaml": configMap("a", "v2")}))

	steps := []struct {
		head     string
		changed  []string
		planned  []string // success runs, digest as external id
		neutral  []string
		mentions string
	}{
		{head1SHA, []string{"deploy/staging/a.yaml"}, []string{"staging"}, []string{"qa", "production"}, short(head1SHA)},
		{head2SHA, []string{"deploy/staging/a.yaml", "deploy/qa/a.yaml"}, []string{"staging", "qa"}, []string{"production"}, short(head2SHA)},
	}
	var stickyID int64
	for i, st := range steps {
		w.openUnitPR(1, "alice", baseSHA, st.head, st.changed...)
		if err := w.s.PlanPR(ctx, PlanRequest{Number: 1, Auto: true}); err != nil {
			t.Fatalf("plan %d: %v", i+1, err)
		}
		for _, env := range st.planned {
			r, ok := w.runNamed(st.head, checkPlanPrefix+env)
			if !ok || r.Status != "completed" || r.Conclusion != "success" || r.ExternalID != "sha256:"+env+"-"+short(st.head) || r.CompletedAt.IsZero() {
				t.Errorf("plan %d: %s run %+v (found %v), want a completed success with the plan's digest", i+1, env, r, ok)
			}
		}
		for _, env := range st.neutral {
			r, ok := w.runNamed(st.head, checkPlanPrefix+env)
			if !ok || r.Conclusion != "neutral" || r.ExternalID != "" || !notAffected(r) {
				t.Errorf("plan %d: %s run %+v (found %v), want a neutral not-affected run", i+1, env, r, ok)
			}
		}
		// Each planned environment's policy is weighed at once; the others'
		// policy checks are neutral too, so a required check never waits.
		for _, env := range st.planned {
			if r, ok := w.runNamed(st.head, checkPolicyPrefix+env); !ok || r.Conclusion != "success" {
				t.Errorf("plan %d: %s policy run %+v (found %v), want a success", i+1, env, r, ok)
			}
		}
		for _, env := range st.neutral {
			if r, ok := w.runNamed(st.head, checkPolicyPrefix+env); !ok || r.Conclusion != "neutral" {
				t.Errorf("plan %d: %s policy run %+v (found %v), want neutral", i+1, env, r, ok)
			}
		}
		comments := w.gh.BotComments(1)
		if len(comments) != 1 {
			t.Fatalf("plan %d: %d bot comments, want the one sticky comment", i+1, len(comments))
		}
		if stickyID == 0 {
			stickyID = comments[0].ID
		} else if comments[0].ID != stickyID {
			t.Errorf("plan %d: sticky comment %d replaced by %d, want it edited in place", i+1, stickyID, comments[0].ID)
		}
		body := comments[0].Body
		if !strings.Contains(body, st.mentions) {
			t.Errorf("plan %d: sticky comment does not name the head %s:\n%s", i+1, st.mentions, body)
		}
		for _, env := range st.planned {
			if !strings.Contains(body, env) {
				t.Errorf("plan %d: sticky comment does not show %s:\n%s", i+1, env, body)
			}
		}
	}
	if strings.Contains(w.gh.BotComments(1)[0].Body, short(head1SHA)) {
		t.Error("the sticky comment still shows the first head's plan")
	}
	if got := w.cluster.appliedEnvs(); len(got) != 0 {
		t.Errorf("planning applied %v", got)
	}
}
