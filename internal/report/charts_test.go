package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/plan"
)

// The plan names the charts from outside the repository it rendered, with
// their versions, escaped like any text from a repository.
func TestChartsShown(t *testing.T) {
	p := &plan.Plan{Environment: "staging", Commit: "abc1234", Charts: []string{
		"oci://registry.example.com/charts/web 1.4.2 (sha256:0123)",
		"db from https://charts.example.com 2.0.0 <img src=x> (sha256:4567)",
	}}
	md := MarkdownSingle([]*plan.Plan{p}, MarkdownOptions{})
	want := "<sub>Helm charts from outside the repository: <code>oci://registry.example.com/charts/web 1.4.2 (sha256:0123)</code>, <code>db from https://charts.example.com 2.0.0 &lt;img src=x&gt; (sha256:4567)</code></sub>"
	if !strings.Contains(md, want) {
		t.Errorf("markdown lacks\n%s\nin\n%s", want, md)
	}
	var buf bytes.Buffer
	if err := Text(&buf, []*plan.Plan{p}, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "chart oci://registry.example.com/charts/web 1.4.2 (sha256:0123)\n") {
		t.Errorf("text lacks the chart:\n%s", buf.String())
	}
	// A plan without such charts says nothing of them.
	if md := MarkdownSingle([]*plan.Plan{{Environment: "staging", Commit: "abc1234"}}, MarkdownOptions{}); strings.Contains(md, "Helm chart") {
		t.Errorf("charts line without charts:\n%s", md)
	}
}
