package demo

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	ghtml "github.com/yuin/goldmark/renderer/html"
)

// githubMarkdown renders markdown as GitHub renders a comment: GFM tables,
// raw HTML such as <details> kept, line breaks kept.
var githubMarkdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithRendererOptions(ghtml.WithUnsafe(), ghtml.WithHardWraps()),
)

// writeHTML writes the transcript as one self-contained page.
func (t *transcript) writeHTML(path string) error {
	var b bytes.Buffer
	b.WriteString(pageHead)
	for _, bl := range t.blocks {
		switch bl.kind {
		case blockTitle:
			fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(bl.text))
		case blockStep:
			fmt.Fprintf(&b, "<h2>%d. %s</h2>\n", bl.number, html.EscapeString(bl.text))
		case blockSay:
			fmt.Fprintf(&b, "<p>%s</p>\n", strings.ReplaceAll(html.EscapeString(bl.text), "\n", "<br>\n"))
		case blockProgress:
			fmt.Fprintf(&b, "<p class=\"progress\">%s</p>\n", html.EscapeString(bl.text))
		case blockComment:
			var md bytes.Buffer
			if err := githubMarkdown.Convert([]byte(bl.text), &md); err != nil {
				return fmt.Errorf("render markdown: %w", err)
			}
			fmt.Fprintf(&b, "<div class=\"comment\"><div class=\"head\">%s</div><div class=\"body\">\n%s</div></div>\n",
				html.EscapeString(bl.head), colourDiffs(md.String()))
		case blockTable:
			b.WriteString("<table class=\"data\">\n")
			for i, row := range bl.rows {
				cell := "td"
				if i == 0 {
					cell = "th"
				}
				b.WriteString("<tr>")
				for j, c := range row {
					class := ""
					if j < len(bl.right) && bl.right[j] {
						class = ` class="num"`
					}
					fmt.Fprintf(&b, "<%s%s>%s</%s>", cell, class, html.EscapeString(c), cell)
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</table>\n")
		case blockPre:
			fmt.Fprintf(&b, "<pre>%s</pre>\n", html.EscapeString(bl.text))
		}
	}
	b.WriteString("</body>\n</html>\n")
	return os.WriteFile(path, b.Bytes(), 0o644)
}

var diffBlock = regexp.MustCompile(`(?s)<code class="language-diff">(.*?)</code>`)

// colourDiffs marks added, removed and hunk lines of ```diff blocks, as
// GitHub's highlighting does.
func colourDiffs(s string) string {
	return diffBlock.ReplaceAllStringFunc(s, func(m string) string {
		body := diffBlock.FindStringSubmatch(m)[1]
		lines := strings.Split(body, "\n")
		for i, l := range lines {
			switch {
			case strings.HasPrefix(l, "@@"):
				lines[i] = `<span class="hunk">` + l + `</span>`
			case strings.HasPrefix(l, "+"):
				lines[i] = `<span class="add">` + l + `</span>`
			case strings.HasPrefix(l, "-"):
				lines[i] = `<span class="del">` + l + `</span>`
			}
		}
		return `<code class="language-diff">` + strings.Join(lines, "\n") + `</code>`
	})
}

const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>slipway demo</title>
<style>
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }
h2 { margin-top: 2.2em; border-bottom: 1px solid #d1d9e0; padding-bottom: .2em; font-size: 1.3em; }
p.progress { color: #59636e; font-style: italic; margin: .2em 0; }
pre, code { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; padding: .8em 1em; border-radius: 6px; overflow-x: auto; }
.comment { border: 1px solid #d1d9e0; border-radius: 6px; margin: 1em 0; }
.comment .head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: .5em 1em; color: #59636e; border-radius: 6px 6px 0 0; }
.comment .body { padding: .2em 1em .6em; }
.comment .body code { background: #eff1f3; padding: .1em .3em; border-radius: 4px; }
.comment .body pre code { background: none; padding: 0; }
.comment blockquote { margin: .5em 0; padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
details { margin: .4em 0; }
summary { cursor: pointer; }
table { border-collapse: collapse; margin: .8em 0; }
th, td { border: 1px solid #d1d9e0; padding: .3em .8em; text-align: left; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; }
.add { color: #116329; background: #dafbe1; display: inline-block; width: 100%; }
.del { color: #82071e; background: #ffebe9; display: inline-block; width: 100%; }
.hunk { color: #0550ae; }
</style>
</head>
<body>
`
