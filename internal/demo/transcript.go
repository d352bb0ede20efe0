package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// transcript is the story as it is told: every block is written to the
// terminal at once, and kept for the HTML page written at the end.
type transcript struct {
	ctx    context.Context
	out    io.Writer
	pace   time.Duration
	blocks []block
	steps  int
	err    error // the first write error
}

type blockKind int

const (
	blockTitle    blockKind = iota
	blockStep               // a numbered chapter of the story
	blockSay                // narration
	blockProgress           // what is happening right now
	blockComment            // a GitHub comment or check run output: markdown
	blockTable
	blockPre // preformatted lines
)

type block struct {
	kind   blockKind
	text   string     // title, step, say, progress; comment markdown
	head   string     // comment: who wrote it, and where
	rows   [][]string // table: header first
	right  []bool     // table: right-aligned columns
	number int        // step
}

const indent = "   "

func newTranscript(ctx context.Context, out io.Writer, pace time.Duration) *transcript {
	if out == nil {
		out = io.Discard
	}
	return &transcript{ctx: ctx, out: out, pace: pace}
}

func (t *transcript) write(b block) {
	t.blocks = append(t.blocks, b)
	var s strings.Builder
	switch b.kind {
	case blockTitle:
		fmt.Fprintf(&s, "%s\n%s\n", b.text, strings.Repeat("═", width(b.text)))
	case blockStep:
		head := fmt.Sprintf("━━ %d. %s ", b.number, b.text)
		fmt.Fprintf(&s, "\n%s%s\n", head, strings.Repeat("━", max(3, 78-width(head))))
	case blockSay:
		for _, l := range strings.Split(b.text, "\n") {
			s.WriteString(strings.TrimRight(indent+l, " ") + "\n")
		}
	case blockProgress:
		fmt.Fprintf(&s, "%s%s\n", indent, b.text)
	case blockComment:
		fmt.Fprintf(&s, "%s┌─ %s\n", indent, b.head)
		for _, l := range strings.Split(markdownText(b.text), "\n") {
			s.WriteString(strings.TrimRight(indent+"│ "+l, " ") + "\n")
		}
		fmt.Fprintf(&s, "%s└─\n", indent)
	case blockTable:
		for _, l := range alignTable(b.rows, b.right, true) {
			s.WriteString(indent + l + "\n")
		}
	case blockPre:
		for _, l := range strings.Split(b.text, "\n") {
			s.WriteString(strings.TrimRight(indent+l, " ") + "\n")
		}
	}
	if _, err := io.WriteString(t.out, s.String()); err != nil && t.err == nil {
		t.err = err
	}
}

// Title starts the transcript.
func (t *transcript) Title(text string) { t.write(block{kind: blockTitle, text: text}) }

// Step starts a chapter, after a pause so that a reader keeps up.
func (t *transcript) Step(format string, args ...any) {
	if t.steps > 0 && t.pace > 0 {
		select {
		case <-t.ctx.Done():
		case <-time.After(t.pace):
		}
	}
	t.steps++
	t.write(block{kind: blockStep, number: t.steps, text: fmt.Sprintf(format, args...)})
}

// Say narrates.
func (t *transcript) Say(format string, args ...any) {
	t.write(block{kind: blockSay, text: fmt.Sprintf(format, args...)})
}

// Progress says what is going on, as it goes on.
func (t *transcript) Progress(format string, args ...any) {
	t.write(block{kind: blockProgress, text: fmt.Sprintf(format, args...)})
}

// Markdown shows markdown slipway wrote on GitHub, under head.
func (t *transcript) Markdown(head, markdown string) {
	t.write(block{kind: blockComment, head: head, text: markdown})
}

// Table shows rows, the first being the header; right marks the columns
// aligned right.
func (t *transcript) Table(rows [][]string, right ...bool) {
	t.write(block{kind: blockTable, rows: rows, right: right})
}

// Pre shows lines as they are.
func (t *transcript) Pre(lines ...string) {
	t.write(block{kind: blockPre, text: strings.Join(lines, "\n")})
}
