package workflow

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/plan"
)

func TestReviewedRules(t *testing.T) {
	const rules = "sha256:0123abcd"
	text := planRunText(&plan.Plan{Rules: rules})
	for _, tc := range []struct {
		name, text, want string
	}{
		{"as written", text, rules},
		{"after other lines", "Pushed by @ann\n" + text + "more\n", rules},
		{"none recorded", "", ""},
		{"a plan that failed", planRunText(&plan.Plan{}), ""},
		{"the prefix inside a line", "see Rules: `sha256:x`", ""},
	} {
		if got := reviewedRules(tc.text); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPlanChangedWording(t *testing.T) {
	const rulesChanged, planChangedText = "the rules changed since the plan was reviewed", "the plan changed since it was reviewed"
	for _, tc := range []struct {
		name     string
		reviewed string
		fresh    *plan.Plan
		want     string
	}{
		{"rules moved", "sha256:a", &plan.Plan{Rules: "sha256:b"}, rulesChanged},
		{"same rules, other objects", "sha256:a", &plan.Plan{Rules: "sha256:a"}, planChangedText},
		{"reviewed rules unknown", "", &plan.Plan{Rules: "sha256:b"}, planChangedText},
		{"no fresh plan", "sha256:a", nil, planChangedText},
	} {
		if got := planChanged(tc.reviewed, tc.fresh).Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want it to start %q", tc.name, got, tc.want)
		}
	}
}
