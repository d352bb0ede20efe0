package report

import (
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escapeHTML escapes text placed inside HTML (a <summary> line, <code>):
// GitHub does not parse markdown there, so only HTML matters.
func escapeHTML(s string) string { return html.EscapeString(s) }

// markdownSpecial are the characters that could start markdown or HTML
// inside a line of text: emphasis, links, code, tables, HTML tags and
// entities, strikethrough, emoji shortcodes, mentions and issue references.
// '-', '.' and '/' are left alone: they only matter at the start of a line,
// where this package never puts user text, and names are full of them.
const markdownSpecial = "\\`*_{}[]()<>#+!|~&:@"

// escapeMarkdown backslash-escapes text placed in markdown (a heading, a
// table cell), so environment names and messages cannot inject formatting.
// CommonMark allows a backslash before any ASCII punctuation.
func escapeMarkdown(s string) string {
	if !strings.ContainsAny(s, markdownSpecial) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TableCell makes text safe in one markdown table cell: line breaks become
// spaces and markdown is escaped, '|' included.
func TableCell(s string) string {
	return escapeMarkdown(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// fence returns a backtick fence longer than any backtick run in body, so no
// line of body can close it early (CommonMark: a closing fence must be at
// least as long as the opening one).
func fence(body string) string {
	longest, run := 0, 0
	for i := 0; i < len(body); i++ {
		if body[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// blockquote prefixes every line of s with "> " (">" for empty lines, so no
// line ends in a space), for fenced blocks inside a GitHub alert.
func blockquote(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = ">"
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}

// thousands formats n with comma separators: 4,000 reads faster than 4000.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// plural picks the word form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

var hexSHA = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// shortSHA abbreviates a commit to seven characters. A bare short sha in a
// comment is turned into a link by GitHub; anything that is not a hex sha is
// escaped instead.
func shortSHA(s string) string {
	if !hexSHA.MatchString(s) {
		return escapeMarkdown(s)
	}
	return s[:7]
}

// shortDigest abbreviates "sha256:<64 hex>" to its algorithm and first 12
// hex digits: enough to tell plans apart by eye; the full digest travels in
// the check run's external_id.
func shortDigest(d string) string {
	const keep = 12
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		alg, hex = "", d
	}
	if len(hex) > keep {
		hex = hex[:keep] + "…"
	}
	if alg == "" {
		return hex
	}
	return alg + ":" + hex
}

// cutBytes shortens s to at most n bytes without splitting a UTF-8
// sequence.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cutLeft keeps the last n bytes of s behind an ellipsis: for file paths the
// end (the file name) is the informative part.
func cutLeft(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return "…" + s[i:]
}

// terminalSafe makes control characters visible (\x1b) so that a manifest or
// an error message cannot move the cursor, clear the screen or retitle the
// window of whoever runs `slipway plan`. Tabs and newlines are kept. Bytes
// that are not UTF-8 are shown escaped too: some terminals read a lone 0x9b
// as the start of a control sequence.
func terminalSafe(s string) string {
	unsafe := func(r rune, size int) bool {
		return (r == utf8.RuneError && size == 1) || (r != '\n' && r != '\t' && unicode.IsControl(r))
	}
	clean := true
	for i := 0; i < len(s) && clean; {
		r, size := utf8.DecodeRuneInString(s[i:])
		clean = !unsafe(r, size)
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafe(r, size):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
