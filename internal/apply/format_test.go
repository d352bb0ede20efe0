package apply

import (
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

// Text from the cluster cannot drive the terminal.
func TestUntrustedTextIsEscaped(t *testing.T) {
	r := &Result{Env: "staging", Objects: []ObjectResult{
		cm("a", Failed, "denied by @org/team: see [this](https://evil.example) <img src=x>\n| injected | row |\x1b[2J"),
	}, Err: "boom\x1b]0;title\x07"}
	if text := r.Text(); strings.ContainsAny(text, "\x1b\x07") {
		t.Errorf("text contains control characters: %q", text)
	}
}
