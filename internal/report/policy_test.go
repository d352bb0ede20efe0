package report

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/policy"
)

func TestPolicy(t *testing.T) {
	r := policy.Result{Env: "staging", Items: []policy.Item{
		{Kind: policy.ItemApprovals, Name: "approvals", Met: true, Reason: "1 of 1 approval at a1b2c3d: alice"},
		{Kind: policy.ItemRequirement, Name: "checks-green", Reason: "1 of 1 check run at a1b2c3d not green: a|b\nc: failure"},
		{Kind: policy.ItemRule, Name: "no-latest-tag", Reason: "1 of 2 objects violates: images must be pinned", Violations: []policy.Violation{
			{Object: "Deployment/shop/web", Message: "images must be pinned"},
		}},
		{Kind: policy.ItemRule, Name: "passing", Met: true, Reason: "2 objects pass"},
	}}
	want := `| | requirement | status |
|---|---|---|
| ✅ | approvals | 1 of 1 approval at a1b2c3d\: alice |
| ❌ | checks-green | 1 of 1 check run at a1b2c3d not green\: a\|b c\: failure |
| ❌ | rule no-latest-tag | 1 of 2 objects violates\: images must be pinned |
| ✅ | rule passing | 2 objects pass |

**rule no-latest-tag** — 1 violation:

- Deployment/shop/web: images must be pinned
`
	if got := Policy(r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Text from manifests and GitHub cannot break the table or inject markup,
// and long lists are capped.
func TestPolicyHostileAndLong(t *testing.T) {
	var vs []policy.Violation
	for i := range 60 {
		vs = append(vs, policy.Violation{Object: fmt.Sprintf("Pod/ns/p%d", i), Message: "<img src=x> **bold** | @everyone\r\n# heading"})
	}
	r := policy.Result{Items: []policy.Item{{Kind: policy.ItemRule, Name: "x|y\nz", Reason: "[link](http://evil)", Violations: vs}}}
	md := Policy(r)
	for _, bad := range []string{"<img", "**bold**", "](", "@everyone", "\n# heading", "\r"} {
		if i := strings.Index(md, bad); i >= 0 && (i == 0 || md[i-1] != '\\') {
			t.Errorf("markdown contains %q unescaped:\n%s", bad, md)
		}
	}
	if !strings.Contains(md, "| ❌ | rule x\\|y z | \\[link\\]\\(http\\://evil\\) |") {
		t.Errorf("row not escaped:\n%s", md)
	}
	if n := strings.Count(md, "\n- Pod/"); n != maxViolationsShown {
		t.Errorf("%d violations listed, want %d", n, maxViolationsShown)
	}
	if !strings.Contains(md, "\n- and 10 more\n") {
		t.Errorf("no 'and 10 more':\n%s", md)
	}
}

// Hundreds of failing rules with long messages still fit a check run.
func TestPolicyLimit(t *testing.T) {
	long := strings.Repeat("é", 2000) // two bytes a rune: cuts must not split one
	var items []policy.Item
	for i := range 300 {
		var vs []policy.Violation
		for j := range 80 {
			vs = append(vs, policy.Violation{Object: fmt.Sprintf("Deployment/ns/d%d", j), Message: long})
		}
		items = append(items, policy.Item{Kind: policy.ItemRule, Name: fmt.Sprintf("rule-%d", i), Reason: long, Violations: vs})
	}
	md := Policy(policy.Result{Items: items})
	if len(md) > gh.CheckRunLimit {
		t.Errorf("markdown is %d bytes, limit %d", len(md), gh.CheckRunLimit)
	}
	if !utf8.ValidString(md) {
		t.Error("markdown is not valid UTF-8")
	}
	if !strings.HasSuffix(md, policyTruncatedNote) {
		t.Errorf("no note that the rest is cut; ends %q", md[len(md)-200:])
	}
	if !strings.HasPrefix(md, "| | requirement | status |\n|---|---|---|\n| ❌ | rule rule-0 | ééé") {
		t.Errorf("starts %q", md[:100])
	}
}
