package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/plan"
)

// adoptionLabel is the line each label-only adoption's diff adds.
const adoptionLabel = "applyset.kubernetes.io/part-of: applyset-x-v1\n"

// labelOnlyAdoptions is a plan of n objects another tool created,
// Deployments and ConfigMaps in turn, that only gain the ApplySet label.
func labelOnlyAdoptions(n int) *plan.Plan {
	p := &plan.Plan{Environment: "prod", Commit: "c0ffee", Digest: "sha256:abcdef0123456789"}
	for i := range n {
		kind := []string{"Deployment", "ConfigMap"}[i%2]
		before := fmt.Sprintf("apiVersion: v1\nkind: %s\nmetadata:\n  name: o-%d\n", kind, i)
		after := strings.Replace(before, "metadata:\n", "metadata:\n  labels:\n    "+adoptionLabel, 1)
		p.Changes = append(p.Changes, plan.Change{Ref: plan.Ref{Version: "v1", Kind: kind, Namespace: "shop", Name: fmt.Sprintf("o-%d", i)},
			Action: plan.Update, Before: before, After: after, LabelOnly: true})
	}
	return p
}

// A first adoption of objects another tool created is one line per kind,
// not one label diff per object; other changes keep their diffs, and an
// environment with only adoptions does not claim it has nothing to change.
func TestMarkdownGroupsLabelOnlyAdoptions(t *testing.T) {
	p := labelOnlyAdoptions(1000)
	p.Changes = append(p.Changes, plan.Change{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"},
		Action: plan.Update, Before: configMapBefore, After: strings.Replace(configMapBefore, "info", "debug", 1)})
	parts := Markdown([]*plan.Plan{p}, MarkdownOptions{})
	if len(parts) != 1 {
		t.Fatalf("%d parts, want 1", len(parts))
	}
	md := parts[0]
	for _, want := range []string{
		"<code>~ adopted, label only</code> <b>Deployment</b> × 500: objects another tool created",
		"<code>~ adopted, label only</code> <b>ConfigMap</b> × 500: objects",
		"<code>shop/settings</code>", "+  LOG_LEVEL: debug",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%.3000s", want, md)
		}
	}
	if n := strings.Count(md, "<details>"); n != 1 {
		t.Errorf("%d objects shown with a diff, want only the one that is not label-only", n)
	}

	onlyAdoptions := &plan.Plan{Environment: "prod", Commit: "c0ffee", Changes: p.Changes[:1]}
	md = MarkdownSingle([]*plan.Plan{onlyAdoptions}, MarkdownOptions{})
	if strings.Contains(md, "Nothing to change") || !strings.Contains(md, "<b>Deployment</b> × 1: an object another tool created") {
		t.Errorf("adoptions only:\n%s", md)
	}
}

// A pull request affecting 50 environments of 200 objects (5% changed)
// gets a sticky comment within GitHub's limit: the summary table in part 1
// names every environment, every environment's heading is in some part,
// and no part is over the limit.
func TestMarkdownFiftyEnvironments(t *testing.T) {
	var plans []*plan.Plan
	for e := range 50 {
		p := &plan.Plan{Environment: fmt.Sprintf("env-%02d", e), Commit: "c0ffee", Digest: "sha256:abcdef0123456789"}
		for i := range 200 {
			ch := plan.Change{Ref: plan.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: fmt.Sprintf("web-%d", i)}, Action: plan.Unchanged}
			if i%20 == 0 {
				ch.Action, ch.Before, ch.After = plan.Update, deploymentYAML, strings.Replace(deploymentYAML, "1.4.2", "1.5.0", 1)
				ch.File, ch.Line = "deploy/web.yaml", i+1
			}
			p.Changes = append(p.Changes, ch)
		}
		plans = append(plans, p)
	}
	parts := Markdown(plans, MarkdownOptions{Marker: "<!-- slipway:plan -->"})
	for i, part := range parts {
		if len(part) > gh.CommentLimit {
			t.Errorf("part %d is %d bytes, over GitHub's %d", i+1, len(part), gh.CommentLimit)
		}
	}
	all := strings.Join(parts, "\n")
	for _, p := range plans {
		row := fmt.Sprintf("| %s | `~10` | 0 | 190 |", p.Environment)
		if !strings.Contains(parts[0], row) {
			t.Errorf("part 1 lacks the summary row %q", row)
		}
		if !strings.Contains(all, "#### "+p.Environment+" · ") {
			t.Errorf("no part has the heading of %s", p.Environment)
		}
	}
	single := MarkdownSingle(plans, MarkdownOptions{})
	if len(single) > gh.CheckRunLimit || !strings.Contains(single, "| env-49 | `~10` | 0 | 190 |") {
		t.Errorf("single document: %d bytes, or a summary row missing", len(single))
	}
	t.Logf("50 environments × 200 objects: %d parts of at most %d bytes; single document %d bytes", len(parts), gh.CommentLimit, len(single))
}

// The terminal report groups label-only adoptions per kind as the plan
// comment does: one line per kind, not 1,000 label diffs; other changes
// keep their diffs.
func TestTextGroupsLabelOnlyAdoptions(t *testing.T) {
	p := labelOnlyAdoptions(1000)
	p.Changes = append(p.Changes, plan.Change{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap\x1b[2J", Namespace: "shop", Name: "settings"},
		Action: plan.Update, Before: configMapBefore, After: strings.Replace(configMapBefore, "info", "debug", 1)})
	p.Changes = append(p.Changes, plan.Change{Ref: plan.Ref{Version: "v1", Kind: "Secret\x1b[2J", Namespace: "shop", Name: "s"},
		Action: plan.Update, Before: "a: 1\n", After: "a: 1\nlabels: x\n", LabelOnly: true})
	var b strings.Builder
	if err := Text(&b, []*plan.Plan{p}, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"prod: ~1002\n",
		"~ adopted, label only Deployment × 500\n    objects another tool created; applying adds this environment's ApplySet label and changes nothing else.\n",
		"~ adopted, label only ConfigMap × 500\n",
		`~ adopted, label only Secret\x1b[2J × 1` + "\n    an object another tool created",
		"~ update ConfigMap\\x1b[2J shop/settings", "+  LOG_LEVEL: debug",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%.3000s", want, out)
		}
	}
	if n := strings.Count(out, adoptionLabel); n != 0 {
		t.Errorf("%d label-only diffs printed, want none", n)
	}
	if n := strings.Count(out, "~ update "); n != 1 {
		t.Errorf("%d objects shown with a diff, want only the one that is not label-only", n)
	}
}
