package report

import (
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/plan"
)

const (
	// DefaultMaxLen stays under both limits with room for the lines a caller
	// adds around a report (an apply outcome, a policy note).
	DefaultMaxLen = 64000
	// MinMaxLen is the smallest MaxLen honoured: below it a part could not
	// hold the headings and one object's summary line together.
	MinMaxLen = 8192
)

// Display caps for single fields, so one odd value cannot eat a part.
const (
	maxKindLen     = 100  // Kinds are at most 63 characters
	maxNameLen     = 300  // namespace/name: 63 + 1 + 253
	maxSourceLen   = 200  // file:line; the end of a path is kept
	maxEnvNoteLen  = 300  // one reviewer note under an environment's heading
	maxLineLen     = 2000 // one diff line; base64 blobs are the usual culprit
	maxNoteLen     = 1000 // a reviewer's note on an object is a sentence or two
	maxSkippedList = 10   // skipped objects named before "and N more"
	maxSkippedLen  = 1500 // bytes of skipped names, for very long ones
	maxPlanErrLen  = 4096 // a render error beyond this is a log, not a message
	minObjectLen   = 4096 // see MarkdownOptions.normalised
)

// MarkdownOptions tune the GitHub markdown report. The zero value is ready
// to use.
type MarkdownOptions struct {
	// MaxLen is the most bytes one part (a comment, a check run's text) may
	// hold. 0 means DefaultMaxLen; values below MinMaxLen are raised to it.
	MaxLen int
	// MaxObjectLen caps one object's block, so that one enormous ConfigMap
	// cannot crowd every other object out of the report. 0 means MaxLen/4;
	// values below 4,096 are raised to it.
	// A larger diff is cut at a line boundary with a note saying so.
	MaxObjectLen int
	// Marker is written verbatim as the first line of every part, so the
	// caller can find its own comments again; use a hidden HTML comment such
	// as "<!-- slipway:plan -->".
	Marker string
	// FullReport is markdown saying where the objects MarkdownSingle leaves
	// out can be read. Empty means the wording in the template (the check
	// run and `slipway plan`); a check run report should name only the
	// latter.
	FullReport string
}

func (o MarkdownOptions) normalised() MarkdownOptions {
	if o.MaxLen == 0 {
		o.MaxLen = DefaultMaxLen
	}
	o.MaxLen = max(o.MaxLen, MinMaxLen)
	if o.MaxObjectLen <= 0 || o.MaxObjectLen > o.MaxLen {
		o.MaxObjectLen = o.MaxLen / 4
	}
	// Below this an object's summary line (names escaped for HTML) and the
	// truncation note might not fit.
	o.MaxObjectLen = max(o.MaxObjectLen, minObjectLen)
	return o
}

// Markdown renders plans for a pull request comment, split into as many
// parts as needed so that each is at most opts.MaxLen bytes. Part 1 holds
// the header, the summary table of every environment and as many objects as
// fit; later parts carry the marker, say "(part 2 of 3)" and continue where
// the previous one stopped. Parts are cut only between objects.
func Markdown(plans []*plan.Plan, opts MarkdownOptions) []string {
	return newDocument(plans, opts).split()
}

// MarkdownSingle renders plans as one document of at most opts.MaxLen
// bytes, for a check run or a comment that must not be split. Every
// environment keeps its heading, plan error and footer; objects are included
// in review order until the budget is spent, and the document then ends by
// saying how many objects were left out and where to read them.
func MarkdownSingle(plans []*plan.Plan, opts MarkdownOptions) string {
	return newDocument(plans, opts).single()
}

// document is the parsed-once state shared by both layouts: every block
// except the objects, which budget.go renders as space allows.
type document struct {
	opts   MarkdownOptions
	commit string
	rows   []rowView
	envs   []*section
}

// section is one environment.
type section struct {
	summary summaryView
	changes []plan.Change // review order, unchanged left out
	head    headView
	tail    tailView
}

type introView struct {
	Marker  string
	Commit  string
	Part    int
	Parts   int
	Rows    []rowView
	NoPlans bool
}

type rowView struct {
	Name    string
	Summary summaryView
}

type headView struct {
	Name      string
	Summary   summaryView
	Continued bool
	Shown     int // objects listed below the heading
	Notes     []string
	Charts    []string      // charts from outside the repository, each cut
	Adopted   []adoptedView // label-only adoptions, one line per kind
	Err       string        // the plan error, possibly cut
	ErrFence  string
	ErrCut    bool
}

type tailView struct {
	Name         string
	Omitted      int // objects of this environment left out for lack of room
	Skipped      []string
	SkippedTotal int
	SkippedMore  int
	Hooks        []hookView // Helm hooks the apply runs, in order
	HooksMore    int
	Unchanged    int
	Digest       string
	Commit       string
}

type objectView struct {
	Symbol, Action string
	Kind, Name     string
	Source         string
	Note           string
	Open, IsError  bool
	Fence, Lang    string
	Body           string // ends in a newline when not empty
	Truncated      bool
	ShownLines     int
	TotalLines     int
	Added, Removed int // diff lines in all, when Truncated
	LongLines      bool
	MaxLine        int
}

func newDocument(plans []*plan.Plan, opts MarkdownOptions) *document {
	plans = present(plans)
	d := &document{opts: opts.normalised(), commit: commits(plans)}
	errCap := min(maxPlanErrLen, d.opts.MaxLen/8)
	for _, p := range plans {
		changes, adopted := groupLabelOnly(reviewOrder(p.Changes))
		s := &section{summary: summarize(p), changes: changes}
		d.rows = append(d.rows, rowView{Name: p.Environment, Summary: s.summary})
		s.head = headView{Name: p.Environment, Summary: s.summary, Shown: len(s.changes), Adopted: adopted}
		notes := p.Notes
		if kept := KeptNote(p.Changes); kept != "" {
			notes = append([]string{kept}, notes...)
		}
		for _, n := range notes {
			s.head.Notes = append(s.head.Notes, cutBytes(n, maxEnvNoteLen))
		}
		for _, c := range p.Charts {
			s.head.Charts = append(s.head.Charts, cutBytes(c, maxEnvNoteLen))
		}
		if p.Err != "" {
			msg := withFinalNewline(cutBytes(p.Err, errCap))
			s.head.Err, s.head.ErrFence, s.head.ErrCut = msg, fence(msg), len(p.Err) > errCap
		}
		s.tail = tailView{
			Name:         p.Environment,
			SkippedTotal: len(p.Skipped),
			Unchanged:    s.summary.Unchanged,
			Digest:       shortDigest(p.Digest),
			Commit:       shortSHA(p.Commit),
		}
		s.tail.Skipped, s.tail.SkippedMore = skippedList(p.Skipped)
		s.tail.Hooks, s.tail.HooksMore = hookList(p.Hooks)
		d.envs = append(d.envs, s)
	}
	return d
}

// adoptedView is one kind's label-only adoptions (plan.Change.LabelOnly).
type adoptedView struct {
	Kind string
	N    int
}

// groupLabelOnly takes the label-only adoptions out of changes and counts
// them per kind, in order of appearance: a first adoption of 1,000 objects
// another tool created would otherwise be 1,000 diffs of one label each.
func groupLabelOnly(changes []plan.Change) ([]plan.Change, []adoptedView) {
	return groupAdoptions(changes, func(ch plan.Change) (string, bool) {
		return ch.Ref.Kind, ch.LabelOnly && ch.Action == plan.Update
	})
}

// groupAdoptions takes the items adoption says are label-only adoptions
// out of items and counts them per kind (cut to maxKindLen), in order of
// appearance.
func groupAdoptions[T any](items []T, adoption func(T) (kind string, ok bool)) ([]T, []adoptedView) {
	var rest []T
	var groups []adoptedView
	at := map[string]int{}
	for _, it := range items {
		kind, ok := adoption(it)
		if !ok {
			rest = append(rest, it)
			continue
		}
		kind = cutBytes(kind, maxKindLen)
		i, seen := at[kind]
		if !seen {
			i, at[kind] = len(groups), len(groups)
			groups = append(groups, adoptedView{Kind: kind})
		}
		groups[i].N++
	}
	return rest, groups
}

// skippedList names the first few skipped objects, as many as fit in
// maxSkippedLen bytes once escaped, and counts the rest.
func skippedList(skipped []plan.Change) ([]string, int) {
	var names []string
	size := 0
	for i, sk := range skipped {
		name := cutBytes(sk.Ref.Kind, maxKindLen) + " " + cutBytes(objectName(sk.Ref), maxNameLen)
		size += len(escapeHTML(name))
		if i == maxSkippedList || (i > 0 && size > maxSkippedLen) {
			return names, len(skipped) - i
		}
		names = append(names, name)
	}
	return names, 0
}

// commits names the commit(s) the plans describe: normally one, but plans
// collected at different times may differ, and the header must not claim
// otherwise.
func commits(plans []*plan.Plan) string {
	var seen []string
	for _, p := range plans {
		c := shortSHA(p.Commit)
		if c != "" && !slices.Contains(seen, c) {
			seen = append(seen, c)
		}
	}
	return strings.Join(seen, ", ")
}

func (d *document) intro(part, parts int) string {
	return render("md-intro", introView{
		Marker:  d.opts.Marker,
		Commit:  d.commit,
		Part:    part,
		Parts:   parts,
		Rows:    d.rows,
		NoPlans: len(d.envs) == 0,
	})
}

func (d *document) head(s *section, continued bool) string {
	v := s.head
	v.Continued = continued
	return render("md-env-head", v)
}

func (d *document) tail(s *section, omitted int) string {
	v := s.tail
	v.Omitted = omitted
	return render("md-env-tail", v)
}

func (d *document) continued(next, parts int) string {
	return render("md-continued", struct{ Next, Parts int }{next, parts})
}

func (d *document) omitted(n int) string {
	return render("md-omitted", struct {
		N     int
		Where string
	}{n, d.opts.FullReport})
}

// objectView prepares one change for the "md-object" template with its
// whole diff (or error message); budget.go cuts it if it does not fit.
func newObjectView(ch plan.Change) objectView {
	v := objectView{
		Symbol:  symbol(ch.Action),
		Action:  string(ch.Action),
		Kind:    cutBytes(ch.Ref.Kind, maxKindLen),
		Name:    cutBytes(objectName(ch.Ref), maxNameLen),
		Source:  cutLeft(source(ch), maxSourceLen),
		IsError: ch.Action == plan.Error,
		MaxLine: maxLineLen,
	}
	if v.IsError {
		// Errors are what a reviewer must act on: show them unfolded.
		v.Open = true
		v.Body = withFinalNewline(ch.Message)
	} else {
		v.Note = ch.Message
		if len(v.Note) > maxNoteLen {
			v.Note = cutBytes(v.Note, maxNoteLen) + "…"
		}
		v.Lang = "diff"
		v.Body = unifiedDiff(ch)
	}
	v.Body, v.LongLines = shortenLines(v.Body, maxLineLen)
	v.Fence = fence(v.Body)
	return v
}

// shortenLines cuts every line longer than n bytes, marking the cut with an
// ellipsis, and reports whether any was cut.
func shortenLines(body string, n int) (string, bool) {
	if len(body) <= n {
		return body, false
	}
	var b strings.Builder
	cut := false
	for line := range strings.Lines(body) {
		if len(line) > n+1 {
			line, cut = cutBytes(line, n)+"…\n", true
		}
		b.WriteString(line)
	}
	if !cut {
		return body, false
	}
	return b.String(), true
}
