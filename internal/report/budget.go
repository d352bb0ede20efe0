package report

import (
	"strings"

	"github.com/slipwayhq/slipway/internal/plan"
)

// Blocks (intro, headings, objects, footers) are joined by a blank line and
// a document ends in a newline; sizes below count both. A part is only ever
// cut between blocks, so no fence or <details> is left open.
const blockSep = "\n\n"

// page collects the blocks of one part and its size in bytes, including the
// space reserved for an intro that is rendered last (once the number of
// parts is known).
type page struct {
	blocks []string
	size   int
}

func newPage(reserve int) *page { return &page{size: reserve + len("\n")} }

func (p *page) fits(limit int, blocks ...string) bool {
	n := p.size
	for _, b := range blocks {
		n += len(blockSep) + len(b)
	}
	return n <= limit
}

func (p *page) add(b string) {
	p.size += len(blockSep) + len(b)
	p.blocks = append(p.blocks, b)
}

func join(blocks []string) string {
	return strings.Join(blocks, blockSep) + "\n"
}

// split lays the document out over as many parts as needed, each at most
// MaxLen bytes.
func (d *document) split() []string {
	maxLen := d.opts.MaxLen
	// The number of parts is not known until the end, so reserve room for
	// the longest intro and "continued" footer: no document has more parts
	// than blocks, which bounds the digits needed.
	bound := 2
	for _, s := range d.envs {
		bound += 2 + len(s.changes)
	}
	firstIntro := len(d.intro(1, bound))
	laterIntro := len(d.intro(bound, bound))
	limit := maxLen - len(blockSep) - len(d.continued(bound, bound))

	longestCont := 0
	for _, s := range d.envs {
		longestCont = max(longestCont, len(d.head(s, true)))
	}
	// An object must fit on a fresh part behind its environment's
	// "(continued)" heading.
	objCap := min(d.opts.MaxObjectLen, limit-laterIntro-len("\n")-2*len(blockSep)-longestCont)

	var pages []*page
	cur := newPage(firstIntro)
	turn := func(s *section) {
		pages = append(pages, cur)
		cur = newPage(laterIntro)
		cur.add(d.head(s, true))
	}
	for _, s := range d.envs {
		objects := make([]string, 0, len(s.changes))
		dropped := 0 // only with absurdly long names: see object
		for _, ch := range s.changes {
			if b := d.object(ch, objCap); b != "" {
				objects = append(objects, b)
			} else {
				dropped++
			}
		}
		head, tail := d.head(s, false), d.tail(s, dropped)
		// Keep a heading with its first block rather than strand it at the
		// bottom of a part.
		first := tail
		if len(objects) > 0 {
			first = objects[0]
		}
		if len(cur.blocks) > 0 && !cur.fits(limit, head, first) {
			pages = append(pages, cur)
			cur = newPage(laterIntro)
		}
		cur.add(head)
		for _, b := range objects {
			if !cur.fits(limit, b) {
				turn(s)
			}
			cur.add(b)
		}
		if !cur.fits(limit, tail) {
			turn(s)
		}
		cur.add(tail)
	}
	pages = append(pages, cur)

	parts := make([]string, len(pages))
	for i, p := range pages {
		blocks := append([]string{d.intro(i+1, len(pages))}, p.blocks...)
		if i < len(pages)-1 {
			blocks = append(blocks, d.continued(i+2, len(pages)))
		}
		parts[i] = join(blocks)
	}
	return parts
}

// single lays the document out as one part of at most MaxLen bytes,
// leaving out the objects that do not fit.
func (d *document) single() string {
	// First try without reserving room for "not shown" notes: if everything
	// fits, no object should be dropped to make room for a note that is not
	// needed. The cache spares the second try re-rendering objects.
	cache := map[[3]int]string{}
	if out, omitted := d.fill(false, cache); omitted == 0 {
		return out
	}
	out, _ := d.fill(true, cache)
	return out
}

// fill adds objects in order until one does not fit, then counts the rest
// as omitted. Objects are not skipped over to fit smaller ones later: "the
// first N objects" is easier to reason about than a scattered selection.
func (d *document) fill(reserveNotes bool, cache map[[3]int]string) (string, int) {
	// Every environment keeps its heading and footer, whatever the budget.
	bound := 0
	for _, s := range d.envs {
		bound += len(s.changes)
	}
	noteOmitted := 0
	if reserveNotes {
		noteOmitted = bound
	}
	perEnvNotes := reserveNotes && len(d.envs) > 1
	fixed := newPage(len(d.intro(0, 0)))
	for _, s := range d.envs {
		fixed.add(d.head(s, false))
		if perEnvNotes {
			fixed.add(d.tail(s, noteOmitted))
		} else {
			fixed.add(d.tail(s, 0))
		}
	}
	if reserveNotes {
		fixed.add(d.omitted(noteOmitted))
	}
	room := d.opts.MaxLen - fixed.size
	objCap := min(d.opts.MaxObjectLen, room-len(blockSep))

	shown := make([][]string, len(d.envs))
	omitted := make([]int, len(d.envs))
	total := 0
	for i, s := range d.envs {
		for j, ch := range s.changes {
			if total > 0 {
				omitted[i]++
				total++
				continue
			}
			key := [3]int{i, j, objCap}
			b, ok := cache[key]
			if !ok {
				b = d.object(ch, objCap)
				cache[key] = b
			}
			if b == "" || len(blockSep)+len(b) > room {
				omitted[i]++
				total++
				continue
			}
			room -= len(blockSep) + len(b)
			shown[i] = append(shown[i], b)
		}
	}

	blocks := []string{d.intro(0, 0)}
	for i, s := range d.envs {
		blocks = append(blocks, d.head(s, false))
		blocks = append(blocks, shown[i]...)
		n := 0
		if len(d.envs) > 1 {
			n = omitted[i]
		}
		blocks = append(blocks, d.tail(s, n))
	}
	if total > 0 {
		blocks = append(blocks, d.omitted(total))
	}
	return join(blocks), total
}

// object renders one change in at most limit bytes, cutting its diff (or
// error message) at a line boundary if needed. It returns "" if not even the
// summary line fits, which the display caps on names make impossible for
// anything the API server would accept.
func (d *document) object(ch plan.Change, limit int) string {
	v := newObjectView(ch)
	out := render("md-object", v)
	if len(out) <= limit {
		return out
	}
	lines := strings.SplitAfter(v.Body, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	// Measure the block without its body, with the note's numbers at their
	// widest, to learn how much body fits.
	v.Truncated, v.TotalLines, v.ShownLines = true, len(lines), len(lines)
	if v.Lang == "diff" {
		// A rewrite's first lines are all removals; the totals tell the
		// reviewer what the cut hides.
		for _, l := range lines {
			switch l[0] {
			case '+':
				v.Added++
			case '-':
				v.Removed++
			}
		}
	}
	full := v.Body
	v.Body = "x\n" // so the template takes the branch that shows a body
	room := limit - (len(render("md-object", v)) - len(v.Body))
	n, size := 0, 0
	for n < len(lines) && size+len(lines[n]) <= room {
		size += len(lines[n])
		n++
	}
	v.Body, v.ShownLines = full[:size], n
	out = render("md-object", v)
	if len(out) > limit {
		return ""
	}
	return out
}
