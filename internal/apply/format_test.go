package apply

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/plan"
)

func cm(name string, o Outcome, msg string) ObjectResult {
	return ObjectResult{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: name}, Outcome: o, Message: msg}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		objects []ObjectResult
		want    string
	}{
		{nil, "no objects"},
		{[]ObjectResult{cm("a", Unchanged, ""), cm("b", Created, ""), cm("c", Deleted, ""), cm("d", Created, ""), cm("e", Configured, "")},
			"2 created, 1 configured, 1 deleted, 1 unchanged"},
		{[]ObjectResult{cm("a", NotApplied, ""), cm("b", Failed, "x"), cm("c", Kept, "k"), cm("d", Unhealthy, "u")},
			"1 kept, 1 unhealthy, 1 failed, 1 not-applied"},
	}
	for _, tc := range tests {
		r := &Result{Env: "staging", Objects: tc.objects}
		if got := r.Summary(); got != tc.want {
			t.Errorf("Summary = %q, want %q", got, tc.want)
		}
	}
}

func TestMarkdownFitsGitHub(t *testing.T) {
	r := &Result{Env: "staging", Commit: "0123456789abcdef0123456789abcdef01234567", Digest: "sha256:" + strings.Repeat("ab", 32),
		Err: "ConfigMap/shop/c-0: " + strings.Repeat("refused ", 1000)}
	for i := range 5000 {
		r.Objects = append(r.Objects, cm(fmt.Sprintf("c-%d", i), Failed, strings.Repeat("long message ", 100)))
	}
	md := r.Markdown()
	if len(md) > MarkdownLimit {
		t.Fatalf("markdown is %d bytes, limit %d", len(md), MarkdownLimit)
	}
	if !strings.Contains(md, "more objects not listed here") {
		t.Error("no note saying objects were left out")
	}
	if !strings.Contains(md, "| failed | ConfigMap | <code>shop/c-0</code> |") || !strings.Contains(md, "commit 0123456") {
		t.Errorf("markdown starts:\n%.600s", md)
	}
}

// Text from the cluster cannot format the comment or drive the terminal.
func TestUntrustedTextIsEscaped(t *testing.T) {
	r := &Result{Env: "staging", Objects: []ObjectResult{
		cm("a", Failed, "denied by @org/team: see [this](https://evil.example) <img src=x>\n| injected | row |\x1b[2J"),
	}, Err: "boom\x1b]0;title\x07"}
	md := r.Markdown()
	for _, bad := range []string{" @org", "[this](", " <img", "\n| injected", "\x1b", "\x07"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown contains %q:\n%s", bad, md)
		}
	}
	text := r.Text()
	if strings.ContainsAny(text, "\x1b\x07") {
		t.Errorf("text contains control characters: %q", text)
	}
}
