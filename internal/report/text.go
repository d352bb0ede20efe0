package report

import (
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/slipwayhq/slipway/internal/plan"
)

// TextOptions tune terminal output.
type TextOptions struct {
	// Color turns on ANSI colours and bold. Decide it with IsTerminal (and
	// honour NO_COLOR): escape codes in a file or a pipe are noise.
	Color bool
}

// IsTerminal reports whether f is a terminal, for deciding TextOptions.Color.
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

// Text writes plans for a terminal, every object with its full diff: there
// is no size limit to respect. Untrusted text (manifests, error messages) is
// stripped of control characters so it cannot drive the terminal.
func Text(w io.Writer, plans []*plan.Plan, opts TextOptions) error {
	v := textView{P: palette{on: opts.Color}}
	for _, p := range present(plans) {
		v.Envs = append(v.Envs, newTextEnv(p))
	}
	return tmpl.ExecuteTemplate(w, "txt-plan", v)
}

type textView struct {
	P    palette
	Envs []textEnv
}

type textEnv struct {
	Name    string
	Summary summaryView
	Commit  string
	Digest  string
	Err     []string
	Objects []textObject
	// Adopted counts label-only adoptions per kind, as the plan comment
	// does (groupLabelOnly): their diffs are one label each.
	Adopted []adoptedView
	Hooks   []string
	Skipped []string
	Charts  []string
}

type textObject struct {
	Symbol, Action string
	Kind, Name     string
	Source         string
	Note           string
	Lines          []string
}

func newTextEnv(p *plan.Plan) textEnv {
	e := textEnv{
		Name:    terminalSafe(p.Environment),
		Summary: summarize(p),
		Commit:  terminalSafe(shortSHA(p.Commit)),
		Digest:  terminalSafe(shortDigest(p.Digest)),
	}
	if p.Err != "" {
		e.Err = lines(terminalSafe(p.Err))
	}
	for _, c := range p.Charts {
		e.Charts = append(e.Charts, terminalSafe(c))
	}
	changes, adopted := groupLabelOnly(reviewOrder(p.Changes))
	for _, a := range adopted {
		e.Adopted = append(e.Adopted, adoptedView{Kind: terminalSafe(a.Kind), N: a.N})
	}
	for _, ch := range changes {
		o := textObject{
			Symbol: symbol(ch.Action),
			Action: string(ch.Action),
			Kind:   terminalSafe(ch.Ref.Kind),
			Name:   terminalSafe(objectName(ch.Ref)),
			Source: terminalSafe(source(ch)),
		}
		if ch.Action == plan.Error {
			o.Lines = lines(terminalSafe(ch.Message))
		} else {
			o.Note = terminalSafe(ch.Message)
			o.Lines = lines(terminalSafe(unifiedDiff(ch)))
		}
		e.Objects = append(e.Objects, o)
	}
	e.Hooks = hookLines(p.Hooks)
	for _, sk := range p.Skipped {
		e.Skipped = append(e.Skipped, terminalSafe(sk.Ref.Kind+" "+objectName(sk.Ref)))
	}
	return e
}

// lines splits text into lines without their newlines.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// palette applies ANSI styles when on, and is the identity when off, so the
// templates read the same either way.
type palette struct{ on bool }

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

func (p palette) style(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return code + s + ansiReset
}

// Bold is for headings.
func (p palette) Bold(s string) string { return p.style(ansiBold, s) }

// Dim is for secondary detail: sources, digests.
func (p palette) Dim(s string) string { return p.style(ansiDim, s) }

// Red is for failures.
func (p palette) Red(s string) string { return p.style(ansiBold+ansiRed, s) }

// Action colours an object's line by what would happen to it.
func (p palette) Action(action, s string) string {
	switch plan.Action(action) {
	case plan.Create:
		return p.style(ansiBold+ansiGreen, s)
	case plan.Update:
		return p.style(ansiBold+ansiYellow, s)
	case plan.Delete, plan.Error:
		return p.style(ansiBold+ansiRed, s)
	}
	return p.Bold(s)
}

// Diff colours one diff line by its first character.
func (p palette) Diff(line string) string {
	switch {
	case strings.HasPrefix(line, "+"):
		return p.style(ansiGreen, line)
	case strings.HasPrefix(line, "-"):
		return p.style(ansiRed, line)
	case strings.HasPrefix(line, "@@"):
		return p.style(ansiCyan, line)
	}
	return line
}
