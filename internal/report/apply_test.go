package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/plan"
)

func TestApplyResultFitsGitHub(t *testing.T) {
	r := &apply.Result{Env: "staging", Commit: "0123456789abcdef0123456789abcdef01234567", Digest: "sha256:" + strings.Repeat("ab", 32),
		Err: "ConfigMap/shop/c-0: " + strings.Repeat("refused ", 1000)}
	for i := range 5000 {
		r.Objects = append(r.Objects, applyCM(fmt.Sprintf("c-%d", i), apply.Failed, strings.Repeat("long message ", 100)))
	}
	md := ApplyResult(r)
	if len(md) > ApplyLimit {
		t.Fatalf("markdown is %d bytes, limit %d", len(md), ApplyLimit)
	}
	if !strings.Contains(md, "more objects not listed here") {
		t.Error("no note saying objects were left out")
	}
	if !strings.Contains(md, "| failed | ConfigMap | <code>shop/c-0</code> |") || !strings.Contains(md, "commit 0123456") {
		t.Errorf("markdown starts:\n%.600s", md)
	}
}

// Text from the cluster cannot format the comment.
func TestApplyResultEscapesUntrustedText(t *testing.T) {
	r := &apply.Result{Env: "staging", Objects: []apply.ObjectResult{
		applyCM("a", apply.Failed, "denied by @org/team: see [this](https://evil.example) <img src=x>\n| injected | row |\x1b[2J"),
	}, Err: "boom\x1b]0;title\x07"}
	md := ApplyResult(r)
	for _, bad := range []string{" @org", "[this](", " <img", "\n| injected", "\x1b", "\x07"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown contains %q:\n%s", bad, md)
		}
	}
}

func applyCM(name string, o apply.Outcome, msg string) apply.ObjectResult {
	return apply.ObjectResult{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: name}, Outcome: o, Message: msg}
}

// An apply's hooks are listed with the objects, failures first, each saying
// for which event it ran, and the summary counts them.
func TestApplyResultListsHooks(t *testing.T) {
	job := func(name string, o apply.Outcome, event, msg string) apply.HookResult {
		return apply.HookResult{ObjectResult: apply.ObjectResult{Ref: plan.Ref{Group: "batch", Version: "v1", Kind: "Job", Namespace: "shop", Name: name}, Outcome: o, Message: msg}, Event: event}
	}
	r := &apply.Result{Env: "staging", Err: "Helm pre-upgrade hook Job.batch/shop/migrate failed, so nothing after it was applied: it did not complete",
		Objects: []apply.ObjectResult{applyCM("web", apply.NotApplied, "not applied: the Helm pre-upgrade hook Job.batch/shop/migrate failed")},
		Hooks: []apply.HookResult{
			job("seed", apply.Succeeded, "pre-upgrade", "pre-upgrade hook: completed; deleted (hook-succeeded)"),
			job("migrate", apply.Failed, "pre-upgrade", "pre-upgrade hook: it did not complete: the Job failed: BackoffLimitExceeded"),
			job("notify", apply.NotApplied, "post-upgrade", "post-upgrade hook: not run: the Helm pre-upgrade hook Job.batch/shop/migrate failed"),
		}}
	md := ApplyResult(r)
	rows := []string{
		`| failed | Job | <code>shop/migrate</code> | pre-upgrade hook\: it did not complete`,
		`| not-applied | ConfigMap | <code>shop/web</code> |`,
		`| not-applied | Job | <code>shop/notify</code> | post-upgrade hook\: not run`,
		`| succeeded | Job | <code>shop/seed</code> | pre-upgrade hook\: completed; deleted \(hook-succeeded\) |`,
	}
	last := -1
	for _, row := range rows {
		i := strings.Index(md, row)
		if i < 0 || i < last {
			t.Errorf("row %q missing or out of order in:\n%s", row, md)
		}
		last = i
	}
	if !strings.Contains(md, "1 not-applied, 1 hook succeeded, 1 hook failed, 1 hook not-applied") {
		t.Errorf("summary: %s", r.Summary())
	}
}

// Label-only adoptions are one row a kind, as the plan groups them; the
// objects that really changed keep their rows.
func TestApplyResultGroupsAdoptions(t *testing.T) {
	r := &apply.Result{Env: "staging"}
	for i := range 1000 {
		r.Objects = append(r.Objects, applyCM(fmt.Sprintf("adopted-%d", i), apply.Adopted, ""))
	}
	r.Objects = append(r.Objects, applyCM("edited", apply.Configured, ""),
		apply.ObjectResult{Ref: plan.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Outcome: apply.Adopted})
	md := ApplyResult(r)
	for _, want := range []string{
		"**1 configured, 1001 adopted**",
		"| adopted | ConfigMap | 1000 objects | label only: created by another tool",
		"| adopted | Deployment | 1 object | label only:",
		"| configured | ConfigMap | <code>shop/edited</code> |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "adopted-1") || strings.Contains(md, "not listed here") {
		t.Errorf("adopted objects listed one by one:\n%.2000s", md)
	}
}
