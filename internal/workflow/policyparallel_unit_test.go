package workflow

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// More environments than are weighed at once each get their policy check,
// every one on its own environment's objects.
func TestUnitPolicyOfManyEnvironments(t *testing.T) {
	const n = 3*policyInFlight + 1
	var config strings.Builder
	config.WriteString("version: 1\nenvironments:\n")
	files := map[string]string{"deploy/base/kustomization.yaml": "resources: [cm.yaml]\n", "deploy/base/cm.yaml": configMap("shared", "v1")}
	for i := range n {
		name := fmt.Sprintf("env-%02d", i)
		fmt.Fprintf(&config, "  - name: %s\n    path: deploy/%s\n    cluster: test\n", name, name)
		files["deploy/"+name+"/kustomization.yaml"] = "resources: [../base, own.yaml]\n"
		files["deploy/"+name+"/own.yaml"] = configMap(name, "v1")
		if i%2 == 1 {
			// A rule that fails only on this environment's own object.
			fmt.Fprintf(&config, "    policy:\n      rules:\n        - {name: odd, expr: \"object.metadata.name != '%s'\", message: odd one}\n", name)
		}
	}
	files[".slipway.yaml"] = config.String()
	w := newUnitWorld(t)
	w.commit(baseSHA, files)
	w.gh.SetDefaultBranch("main", baseSHA)
	w.commit(head1SHA, with(files, map[string]string{"deploy/base/cm.yaml": configMap("shared", "v2")}))
	w.openUnitPR(1, "alice", baseSHA, head1SHA, "deploy/base/cm.yaml")
	if err := w.s.PlanPR(context.Background(), PlanRequest{Number: 1, Auto: true}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("env-%02d", i)
		want := "success"
		if i%2 == 1 {
			want = "failure"
		}
		if r, ok := w.runNamed(head1SHA, checkPolicyPrefix+name); !ok || r.Conclusion != want {
			t.Errorf("%s's policy run %+v (found %v), want %s", name, r, ok, want)
		}
	}
}
