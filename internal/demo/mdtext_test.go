package demo

import (
	"strings"
	"testing"
)

func TestMarkdownText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "table aligned, code spans and bold as text",
			in:   "| Environment | Changes | Errors |\n|:--|:--|--:|\n| staging | `+1 ~1` | **1** |\n| production | no changes | 0 |\n",
			want: "Environment  Changes     Errors\n" +
				"───────────────────────────────\n" +
				"staging      +1 ~1            1\n" +
				"production   no changes       0",
		},
		{
			name: "details expanded under their summary",
			in: "<details><summary><code>~ update</code> <b>ConfigMap</b> <code>shop/web</code> <sub>deploy/web.yaml:1</sub></summary>\n\n" +
				"> pruned\\: no longer rendered\n\n```diff\n-a: 1\n+a: 2\n```\n\n</details>\n\nafter",
			want: "▸ ~ update ConfigMap shop/web    deploy/web.yaml:1\n\n" +
				"  │ pruned: no longer rendered\n\n" +
				"      -a: 1\n      +a: 2\n\nafter",
		},
		{
			name: "hidden comment dropped, headings, entities, line breaks kept",
			in:   "<!-- slipway:plan -->\n### slipway plan for 3f9c2a1\n\n#### staging · +1\n\nline one\nline &lt;two&gt;",
			want: "slipway plan for 3f9c2a1\n────────────────────────\n\n▌ staging · +1\n\nline one\nline <two>",
		},
		{
			name: "alerts and lists",
			in:   "> [!CAUTION]\n> Planning failed.\n\n- one\n- two",
			want: "│ ⛔ Caution\n│ Planning failed.\n\n• one\n• two",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := markdownText(tt.in); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestColourDiffs(t *testing.T) {
	in := "<pre><code class=\"language-diff\">@@ -1 +1 @@\n-a\n+b\n c\n</code></pre>"
	got := colourDiffs(in)
	for _, want := range []string{`<span class="hunk">@@ -1 +1 @@</span>`, `<span class="del">-a</span>`, `<span class="add">+b</span>`, "\n c\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
}
