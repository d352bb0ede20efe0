package workflow

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// threeEnvs is unitConfig with a CEL rule on production.
var threeEnvs = unitConfig + `    policy:
      rules:
        - name: no-latest
          match: {kinds: [ConfigMap]}
          expr: "object.data.tag != 'latest'"
          message: pin it
`

func threeEnvConfig(t *testing.T) *repoconfig.Config {
	t.Helper()
	cfg, err := repoconfig.Parse(repoconfig.FileName, []byte(threeEnvs))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runs are check runs at one commit, newest first.
func plan_(env string) gh.CheckRunState {
	return gh.CheckRunState{Name: checkPlanPrefix + env, Status: "completed", Conclusion: "success", ExternalID: "sha256:" + env}
}

func neutral(env string) gh.CheckRunState {
	return gh.CheckRunState{Name: checkPlanPrefix + env, Status: "completed", Conclusion: "neutral", Title: notAffectedTitle}
}

func running(env string) gh.CheckRunState {
	return gh.CheckRunState{Name: checkPlanPrefix + env, Status: "in_progress"}
}

// A neutral "not affected" run is no plan: where it is a name's newest run,
// the environment counts as unplanned for policy and /apply; a real plan
// made after it (a /plan of that environment) counts.
func TestPlannedEnvsIgnoreNeutralRuns(t *testing.T) {
	cfg := threeEnvConfig(t)
	tests := []struct {
		name string
		runs []gh.CheckRunState // newest first
		want []string
	}{
		{"no runs", nil, nil},
		{"every environment planned", []gh.CheckRunState{plan_("production"), plan_("qa"), plan_("staging")}, []string{"staging", "qa", "production"}},
		{"only staging affected", []gh.CheckRunState{plan_("staging"), neutral("qa"), neutral("production")}, []string{"staging"}},
		{"nothing affected", []gh.CheckRunState{neutral("staging"), neutral("qa"), neutral("production")}, nil},
		{"a /plan after the neutral run is a plan", []gh.CheckRunState{plan_("production"), plan_("staging"), neutral("production")}, []string{"staging", "production"}},
		{"a plan still running after the neutral run", []gh.CheckRunState{running("qa"), neutral("qa")}, []string{"qa"}},
		{"the newest run decides, not an older plan", []gh.CheckRunState{neutral("production"), plan_("production")}, nil},
		{"unknown environment", []gh.CheckRunState{plan_("dev")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plannedEnvs(tt.runs, cfg); !slices.Equal(got, tt.want) {
				t.Errorf("plannedEnvs = %v, want %v", got, tt.want)
			}
		})
	}
}

// /apply with no environment named picks the before-merge environments
// planned at the head: an unaffected one's neutral run does not make it one.
func TestApplyTargetsSkipNeutral(t *testing.T) {
	cfg := threeEnvConfig(t)
	_, no := applyTargets(cfg, plannedEnvs([]gh.CheckRunState{plan_("staging"), neutral("qa")}, cfg), nil)
	if len(no) != 1 || !strings.Contains(no[0], "no `before-merge` environment is planned") {
		t.Errorf("refusal %v, want no before-merge environment planned", no)
	}
	got, no := applyTargets(cfg, plannedEnvs([]gh.CheckRunState{plan_("qa"), neutral("qa")}, cfg), nil)
	if len(no) != 0 || !slices.Equal(got, []string{"qa"}) {
		t.Errorf("applyTargets = %v %v, want qa", got, no)
	}
}

// A head with only neutral runs was not planned (resync plans it, unless
// the sticky comment answers for it); one with a real plan run was.
func TestHasPlanRun(t *testing.T) {
	tests := []struct {
		name string
		runs []gh.CheckRunState
		want bool
	}{
		{"nothing", nil, false},
		{"neutral only", []gh.CheckRunState{neutral("staging"), neutral("production")}, false},
		{"neutral and a plan", []gh.CheckRunState{neutral("production"), plan_("staging")}, true},
		{"a plan running", []gh.CheckRunState{running("staging")}, true},
		{"the config's check", []gh.CheckRunState{{Name: checkConfig, Status: "completed", Conclusion: "failure"}}, true},
		{"a policy run is no plan", []gh.CheckRunState{{Name: checkPolicyPrefix + "staging", Status: "completed", Conclusion: "success"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasPlanRun(tt.runs); got != tt.want {
				t.Errorf("hasPlanRun = %v, want %v", got, tt.want)
			}
		})
	}
}

// Which environments need a neutral run at a head: those with no plan run
// there that are not being planned now (PlanPR then drops the affected).
func TestLackingPlanRun(t *testing.T) {
	cfg := threeEnvConfig(t)
	tests := []struct {
		name     string
		runs     []gh.CheckRunState
		planning []string
		want     []string
	}{
		{"a new head, staging planned", nil, []string{"staging"}, []string{"qa", "production"}},
		{"a new head, nothing planned", nil, nil, []string{"staging", "qa", "production"}},
		{"already reported", []gh.CheckRunState{neutral("qa"), neutral("production"), plan_("staging")}, nil, nil},
		{"a /plan of one, the others have runs", []gh.CheckRunState{neutral("qa"), neutral("production"), plan_("staging")}, []string{"production"}, nil},
		{"a /plan on a draft never planned", nil, []string{"qa"}, []string{"staging", "production"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lackingPlanRun(cfg, tt.runs, tt.planning); !slices.Equal(got, tt.want) {
				t.Errorf("lackingPlanRun = %v, want %v", got, tt.want)
			}
		})
	}
	if got := without([]string{"staging", "qa", "production"}, []string{"qa"}); !slices.Equal(got, []string{"staging", "production"}) {
		t.Errorf("without = %v", got)
	}
}

// The neutral runs: plan and policy for every environment, apply only for
// a before-merge one, all completed neutral (GitHub counts it as passing)
// and none of them a plan.
func TestNeutralRuns(t *testing.T) {
	cfg := threeEnvConfig(t)
	for _, tt := range []struct {
		env, what string
		names     []string
		title     string
	}{
		{"staging", "pull request", []string{"slipway/plan: staging", "slipway/policy: staging"}, "not affected by this pull request"},
		{"qa", "pull request", []string{"slipway/plan: qa", "slipway/policy: qa", "slipway/apply: qa"}, "not affected by this pull request"},
		{"production", "merge group", []string{"slipway/plan: production", "slipway/policy: production"}, "not affected by this merge group"},
	} {
		env, _ := cfg.Environment(tt.env)
		runs := neutralRuns(env, "abc1234", tt.what, "")
		var names []string
		var states []gh.CheckRunState
		for _, r := range runs {
			names = append(names, r.Name)
			if r.HeadSHA != "abc1234" || r.Status != "completed" || r.Conclusion != "neutral" || r.Title != tt.title || !strings.Contains(r.Summary, "`"+env.Path+"`") {
				t.Errorf("%s: %+v", r.Name, r)
			}
			states = append(states, gh.CheckRunState{Name: r.Name, Status: r.Status, Conclusion: r.Conclusion})
		}
		if !slices.Equal(names, tt.names) {
			t.Errorf("%s: runs %v, want %v", tt.env, names, tt.names)
		}
		if got := pushers([]gh.CheckRunState{{Name: runs[0].Name, Summary: neutralRuns(env, "abc1234", tt.what, "carol")[0].Summary}}); !slices.Equal(got, []string{"carol"}) {
			t.Errorf("%s: the neutral plan run records pushers %v, want carol", tt.env, got)
		}
		if got := plannedEnvs(states, cfg); len(got) != 0 {
			t.Errorf("%s: neutral runs count as a plan of %v", tt.env, got)
		}
	}
}

// A merge group's policy: the plan at its head must have succeeded and the
// rules must hold over the rendered objects; approvals are not weighed.
func TestGroupPolicy(t *testing.T) {
	cfg := threeEnvConfig(t)
	rules, err := policy.CompileRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cm := func(tag string) []*unstructured.Unstructured {
		return []*unstructured.Unstructured{{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "web"}, "data": map[string]any{"tag": tag}}}}
	}
	ok := &plan.Plan{Environment: "production", Digest: "sha256:x"}
	rejected := &plan.Plan{Environment: "production", Changes: []plan.Change{{Action: plan.Error, Message: "denied"}}}
	tests := []struct {
		name      string
		p         *plan.Plan
		objects   []*unstructured.Unstructured
		renderErr error
		pass      bool
		unmet     string
	}{
		{"planned, rules hold", ok, cm("1.2"), nil, true, ""},
		{"a rule broken", ok, cm("latest"), nil, false, "no-latest"},
		{"the plan failed", &plan.Plan{Err: "cluster unreachable"}, cm("1.2"), nil, false, "plan"},
		{"the cluster rejects an object", rejected, cm("1.2"), nil, false, "plan"},
		{"no plan at all", nil, cm("1.2"), nil, false, "plan"},
		{"manifests do not render", ok, nil, errors.New("render: bad yaml"), false, "manifests render"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := groupPolicy(context.Background(), rules.For("production"), "production", "abc1234def", tt.p, tt.objects, tt.renderErr)
			if res.Passed() != tt.pass {
				t.Fatalf("passed = %v, want %v: %+v", res.Passed(), tt.pass, res.Items)
			}
			for _, it := range res.Items {
				if it.Kind == policy.ItemApprovals {
					t.Error("a merge group's policy weighs approvals")
				}
				if !it.Met && it.Name != tt.unmet {
					t.Errorf("unmet %q, want only %q", it.Name, tt.unmet)
				}
			}
		})
	}
}

// A before-merge environment's apply check on a merge group's head passes
// only when the cluster already matches the group (its pull requests were
// applied): a change left to apply, or no plan, keeps the group out.
func TestGroupApplied(t *testing.T) {
	applied := &plan.Plan{Environment: "qa", Digest: "sha256:x", Changes: []plan.Change{{Action: plan.Unchanged}}}
	pending := &plan.Plan{Environment: "qa", Changes: []plan.Change{{Action: plan.Update}}}
	tests := []struct {
		name  string
		p     *plan.Plan
		want  string
		title string
	}{
		{"nothing left to apply", applied, "success", "already applied"},
		{"a change not applied", pending, "failure", "differs from the cluster"},
		{"the plan failed", &plan.Plan{Err: "unreachable"}, "failure", "not planned"},
		{"no plan", nil, "failure", "not planned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := groupApplied("qa", "abc1234def", tt.p)
			if run.Name != "slipway/apply: qa" || run.HeadSHA != "abc1234def" || run.Status != "completed" || run.Conclusion != tt.want || !strings.HasPrefix(run.Title, tt.title) {
				t.Errorf("%+v, want %s %q", run, tt.want, tt.title)
			}
		})
	}
}
