package render

import (
	"fmt"
	"strings"

	"github.com/docstrange/mesh/scheduler"
)

// Markdown renders doc as CommonMark: headings as "#" lines, blocks
// separated by a blank line, and, for documents of more than one page, an
// HTML comment "<!-- page N -->" before each page. Page warnings become
// comments too.
//
// Text is escaped so that it reads back as the same text: a line that would
// start a heading, list, quote, fence, table or link definition gets a
// backslash, and a "<" that could open an HTML tag is escaped, so extracted
// text can never inject markup. Blocks of a Markdown source (media type
// text/markdown, Source "plain") are already Markdown and pass through
// unchanged.
func Markdown(doc *scheduler.Document) []byte {
	var b strings.Builder
	chunk := func(s string) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	passthrough := doc.MediaType == markdownSource
	marks := multiPage(doc)
	for _, p := range doc.Pages {
		if marks {
			chunk(fmt.Sprintf("<!-- page %d -->", p.Number))
		}
		for _, w := range p.Warnings {
			chunk("<!-- warning: " + commentSafe(w) + " -->")
		}
		for _, blk := range p.Blocks {
			if s := markdownBlock(blk, passthrough && blk.Source == scheduler.SourcePlain); s != "" {
				chunk(s)
			}
		}
	}
	return []byte(b.String())
}

func markdownBlock(blk scheduler.Block, raw bool) string {
	if blk.Type == scheduler.BlockHeading {
		t := oneLine(blk.Text)
		if t == "" {
			return ""
		}
		if !raw {
			t = escapeInline(t)
			// A trailing " #" would be read as a closing sequence.
			if strings.HasSuffix(t, "#") {
				t = t[:len(t)-1] + `\#`
			}
		}
		return strings.Repeat("#", headingLevel(blk)) + " " + t
	}
	if raw {
		return strings.TrimRight(blk.Text, "\n")
	}
	var lines []string
	for l := range strings.SplitSeq(blk.Text, "\n") {
		if l = escapeLine(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// escapeLine makes one line of text read back literally. Leading blanks are
// dropped (four would make a code block), trailing ones too (two would make a
// hard break).
func escapeLine(l string) string {
	l = strings.TrimSpace(l)
	if l == "" {
		return ""
	}
	l = escapeInline(l)
	switch {
	case strings.HasPrefix(l, "#"), strings.HasPrefix(l, ">"), strings.HasPrefix(l, "|"),
		strings.HasPrefix(l, "["), strings.HasPrefix(l, "```"), strings.HasPrefix(l, "~~~"),
		listMarker(l), ruleOrUnderline(l):
		return `\` + l
	}
	if n := orderedMarker(l); n > 0 {
		return l[:n] + `\` + l[n:]
	}
	return l
}

// escapeInline escapes "<" where it could open a tag, comment or autolink.
func escapeInline(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '<' && i+1 < len(s) && opensTag(s[i+1]) {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func opensTag(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!' || c == '?'
}

// listMarker reports "- x", "+ x", "* x" or a bare marker.
func listMarker(l string) bool {
	return len(l) >= 1 && strings.ContainsRune("-+*", rune(l[0])) && (len(l) == 1 || l[1] == ' ' || l[1] == '\t')
}

// ruleOrUnderline reports a thematic break ("***", "- - -", "___") or a
// setext underline ("===", "---"), which would turn the line above into a
// heading.
func ruleOrUnderline(l string) bool {
	c := l[0]
	if !strings.ContainsRune("-*_=", rune(c)) {
		return false
	}
	n := 0
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case c:
			n++
		case ' ', '\t':
			if c == '=' {
				return false
			}
		default:
			return false
		}
	}
	// Any run of "=" or "-" is a setext underline; "*" and "_" need three.
	return n >= 3 || c == '=' || c == '-'
}

// orderedMarker returns the index of the "." or ")" of an ordered list
// marker ("1. x", "12) x"), or 0.
func orderedMarker(l string) int {
	n := 0
	for n < len(l) && n < 10 && l[n] >= '0' && l[n] <= '9' {
		n++
	}
	if n == 0 || n > 9 || n >= len(l) || (l[n] != '.' && l[n] != ')') {
		return 0
	}
	if n+1 == len(l) || l[n+1] == ' ' || l[n+1] == '\t' {
		return n
	}
	return 0
}

// commentSafe keeps s from ending an HTML comment early.
func commentSafe(s string) string {
	s = oneLine(s)
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "- -")
	}
	return strings.TrimSuffix(s, "-")
}
