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
