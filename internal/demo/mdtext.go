package demo

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// markdownText renders GitHub markdown as a terminal shows it best: the
// text a reader sees on GitHub, tables aligned, code indented, and every
// <details> block expanded (its summary becomes a "▸" line).
func markdownText(src string) string {
	source := []byte(src)
	doc := goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser().Parse(text.NewReader(source))
	r := &textRenderer{src: source}
	r.blocks(doc)
	return strings.TrimRight(strings.Join(r.out, "\n"), "\n")
}

type textRenderer struct {
	src     []byte
	out     []string
	details int // open <details> blocks: their contents are indented
}

// emit adds a block's lines, separated from the previous block by a blank
// line, indented under open <details>.
func (r *textRenderer) emit(lines []string) {
	if len(lines) == 0 {
		return
	}
	if len(r.out) > 0 {
		r.out = append(r.out, "")
	}
	pad := strings.Repeat("  ", r.details)
	for _, l := range lines {
		r.out = append(r.out, strings.TrimRight(pad+l, " "))
	}
}

func (r *textRenderer) blocks(parent ast.Node) {
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		if hb, ok := n.(*ast.HTMLBlock); ok {
			r.htmlBlock(hb)
			continue
		}
		r.emit(r.block(n))
	}
}

// block renders one block that is not raw HTML.
func (r *textRenderer) block(n ast.Node) []string {
	switch n := n.(type) {
	case *ast.Heading:
		t := r.inline(n)
		switch n.Level {
		case 1, 2:
			return []string{t, strings.Repeat("═", width(t))}
		case 3:
			return []string{t, strings.Repeat("─", width(t))}
		}
		return []string{"▌ " + t}
	case *ast.Paragraph, *ast.TextBlock:
		return strings.Split(alert(r.inline(n)), "\n")
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		var lines []string
		segs := n.Lines()
		for i := 0; i < segs.Len(); i++ {
			seg := segs.At(i)
			lines = append(lines, "    "+strings.TrimRight(string(seg.Value(r.src)), "\n"))
		}
		return lines
	case *ast.Blockquote:
		sub := &textRenderer{src: r.src}
		sub.blocks(n)
		lines := make([]string, len(sub.out))
		for i, l := range sub.out {
			lines[i] = strings.TrimRight("│ "+l, " ")
		}
		return lines
	case *ast.List:
		return r.list(n)
	case *ast.ThematicBreak:
		return []string{strings.Repeat("─", 40)}
	case *east.Table:
		return r.table(n)
	case *ast.HTMLBlock:
		return nil // handled by htmlBlock
	}
	sub := &textRenderer{src: r.src}
	sub.blocks(n)
	return sub.out
}

func (r *textRenderer) list(l *ast.List) []string {
	var lines []string
	num := l.Start
	for item := l.FirstChild(); item != nil; item = item.NextSibling() {
		marker := "• "
		if l.IsOrdered() {
			marker = strconv.Itoa(num) + ". "
			num++
		}
		sub := &textRenderer{src: r.src}
		sub.blocks(item)
		for i, line := range sub.out {
			if i == 0 {
				lines = append(lines, marker+line)
			} else {
				lines = append(lines, strings.TrimRight(strings.Repeat(" ", utf8.RuneCountInString(marker))+line, " "))
			}
		}
	}
	return lines
}

func (r *textRenderer) table(t *east.Table) []string {
	var rows [][]string
	for row := t.FirstChild(); row != nil; row = row.NextSibling() {
		var cells []string
		for c := row.FirstChild(); c != nil; c = c.NextSibling() {
			cells = append(cells, r.inline(c))
		}
		rows = append(rows, cells)
	}
	aligns := make([]bool, len(t.Alignments)) // true: right
	for i, a := range t.Alignments {
		aligns[i] = a == east.AlignRight
	}
	return alignTable(rows, aligns, true)
}

// alignTable lays rows out in columns; with header, a rule follows the
// first row. right says which columns are right-aligned.
func alignTable(rows [][]string, right []bool, header bool) []string {
	widths := map[int]int{}
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], width(c))
		}
	}
	var lines []string
	for ri, row := range rows {
		var b strings.Builder
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-width(c))
			if i < len(right) && right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
		if ri == 0 && header {
			total := 0
			for i := range row {
				total += widths[i]
				if i > 0 {
					total += 2
				}
			}
			lines = append(lines, strings.Repeat("─", total))
		}
	}
	return lines
}

// inline is the text of n's inline children as GitHub displays it.
func (r *textRenderer) inline(n ast.Node) string {
	var b strings.Builder
	var walk func(ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				b.WriteString(html.UnescapeString(string(util.UnescapePunctuations(c.Segment.Value(r.src)))))
				if c.SoftLineBreak() || c.HardLineBreak() {
					b.WriteString("\n") // GitHub keeps a comment's line breaks
				}
			case *ast.String:
				b.WriteString(html.UnescapeString(string(c.Value)))
			case *ast.CodeSpan:
				b.WriteString(html.UnescapeString(r.inline(c)))
			case *ast.RawHTML:
				var tag strings.Builder
				for i := 0; i < c.Segments.Len(); i++ {
					seg := c.Segments.At(i)
					tag.Write(seg.Value(r.src))
				}
				if isBreak(tag.String()) {
					b.WriteString("\n")
				}
			case *ast.AutoLink:
				b.Write(c.URL(r.src))
			case *ast.Link:
				label := r.inline(c)
				b.WriteString(label)
				if url := string(c.Destination); url != label {
					b.WriteString(" <" + url + ">")
				}
			default:
				walk(c)
			}
		}
	}
	walk(n)
	return strings.TrimRight(b.String(), "\n")
}

// htmlBlock turns a raw HTML block into text: <details> opens an indented
// section, <summary> becomes a "▸" line, other tags are dropped.
func (r *textRenderer) htmlBlock(hb *ast.HTMLBlock) {
	var raw strings.Builder
	lines := hb.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		raw.Write(seg.Value(r.src))
	}
	if hb.HasClosure() {
		raw.Write(hb.ClosureLine.Value(r.src))
	}
	s := raw.String()
	s = htmlComment.ReplaceAllString(s, "")
	opens := strings.Count(s, "<details")
	closes := strings.Count(s, "</details>")
	s = strings.NewReplacer("<summary>", "▸ ", "</summary>", "\n", "<sub>", "   ").Replace(s)
	s = breakTag.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimSpace(l))
		}
	}
	r.emit(out)
	r.details = max(0, r.details+opens-closes)
}

var (
	htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlTag     = regexp.MustCompile(`</?[a-zA-Z][^>]*>`)
	breakTag    = regexp.MustCompile(`(?i)<br\s*/?>`)
)

func isBreak(tag string) bool { return breakTag.MatchString(tag) }

// alert shows GitHub's "> [!NOTE]" alerts as words.
func alert(s string) string {
	for marker, label := range map[string]string{
		"[!NOTE]": "ℹ Note", "[!TIP]": "💡 Tip", "[!IMPORTANT]": "❗ Important",
		"[!WARNING]": "⚠ Warning", "[!CAUTION]": "⛔ Caution",
	} {
		if rest, ok := strings.CutPrefix(s, marker); ok {
			return label + rest
		}
	}
	return s
}

// width is the number of terminal columns s takes, near enough: runes.
func width(s string) int { return utf8.RuneCountInString(s) }
