package report

import (
	"strings"
	"testing"
)

// A reconciler's message carries text from the manifests: it cannot
// mention, link or break out of its block, and it is bounded.
func TestFollowedEscapesTheReconcilersWords(t *testing.T) {
	msg := "ConfigMap/shop/x dry-run failed: @acme/everyone see [here](https://evil.example) <img src=x>\n## pwned " + strings.Repeat("x", 5000)
	got := Followed("prod", "Flux Kustomization flux-system/apps", "0123456789abcdef0123456789abcdef01234567", "failure", msg)
	for _, escaped := range []string{`\@acme`, `\[here\]\(`, `\<img`} {
		if !strings.Contains(got, escaped) {
			t.Errorf("%q not escaped in:\n%.600s", escaped, got)
		}
	}
	if strings.Contains(got, "\n## pwned") || strings.Count(got, "\n") > 8 {
		t.Errorf("the message broke out of its block:\n%.600s", got)
	}
	if len(got) > maxReconcilerMessage+500 || !strings.Contains(got, "❌ Flux Kustomization flux-system/apps failed") || !strings.Contains(got, "[!CAUTION]") {
		t.Errorf("%d bytes:\n%.600s", len(got), got)
	}
	ok := Followed("prod", "Argo CD Application argocd/shop", "0123456789abcdef0123456789abcdef01234567", "success", "")
	if !strings.Contains(ok, "✅ applied by Argo CD Application argocd/shop") || strings.Contains(ok, "[!") {
		t.Errorf("success:\n%s", ok)
	}
}
