package extract

import (
	"bytes"
	"strings"

	"github.com/docstrange/mesh/scheduler"
)

// ExtractText turns UTF-8 plain text or Markdown into a one-page document:
// one text block per paragraph (paragraphs end at blank lines), Source
// "plain", no boxes. mediaType is the type Detect gave the upload; with
// MediaTypeMarkdown, "#" headings become heading blocks and blank lines
// inside code fences do not split, so the Markdown renderer can hand the
// source back unchanged. Line breaks inside a paragraph are kept.
//
// Detect judged the upload to be text from its head; should the rest not be
// (or a size limit cut a character in half), invalid UTF-8 becomes U+FFFD
// and NUL bytes are dropped rather than failing the job.
func ExtractText(data []byte, mediaType string) *scheduler.Document {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	text := strings.ToValidUTF8(string(data), "\uFFFD")
	text = strings.ReplaceAll(text, "\x00", "")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	markdown := mediaType == MediaTypeMarkdown
	if !markdown {
		mediaType = MediaTypeText
	}

	p := paragraphs{markdown: markdown, blocks: []scheduler.Block{}}
	for line := range strings.SplitSeq(text, "\n") {
		p.add(line)
	}
	p.flush()
	return &scheduler.Document{
		MediaType: mediaType,
		PageCount: 1,
		Pages:     []scheduler.Page{{Number: 1, Blocks: p.blocks}},
	}
}

// paragraphs collects lines into blocks.
type paragraphs struct {
	markdown bool
	fence    string // the open code fence marker, "" outside a fence
	cur      []string
	blocks   []scheduler.Block
}

func (p *paragraphs) add(line string) {
	if !p.markdown {
		line = strings.TrimRight(line, " \t\f\v")
	}
	trimmed := strings.TrimSpace(line)
	if p.markdown {
		if p.fence != "" {
			p.cur = append(p.cur, line)
			if strings.HasPrefix(trimmed, p.fence) && strings.Trim(trimmed, p.fence[:1]) == "" {
				p.fence = ""
			}
			return
		}
		if f := fenceOpen(trimmed); f != "" {
			p.fence = f
			p.cur = append(p.cur, line)
			return
		}
		if level, title, ok := atxHeading(line); ok {
			p.flush()
			p.blocks = append(p.blocks, scheduler.Block{
				Type: scheduler.BlockHeading, Text: title, Level: level,
				Confidence: 1, Source: scheduler.SourcePlain,
			})
			return
		}
	}
	if trimmed == "" {
		p.flush()
		return
	}
	p.cur = append(p.cur, line)
}

func (p *paragraphs) flush() {
	if len(p.cur) == 0 {
		return
	}
	p.blocks = append(p.blocks, scheduler.Block{
		Type: scheduler.BlockText, Text: strings.Join(p.cur, "\n"),
		Confidence: 1, Source: scheduler.SourcePlain,
	})
	p.cur = nil
}

// fenceOpen returns the fence marker (``` or ~~~, possibly longer) that t
// opens, or "".
func fenceOpen(t string) string {
	for _, c := range []string{"`", "~"} {
		n := len(t) - len(strings.TrimLeft(t, c))
		if n >= 3 {
			return strings.Repeat(c, n)
		}
	}
	return ""
}

// atxHeading parses "## Title ##" (up to three spaces of indent) into its
// level and text.
func atxHeading(line string) (int, string, bool) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return 0, "", false
	}
	n := len(t) - len(strings.TrimLeft(t, "#"))
	if n < 1 || n > 6 || (len(t) > n && t[n] != ' ' && t[n] != '\t') {
		return 0, "", false
	}
	title := strings.TrimSpace(t[n:])
	// An optional closing sequence of #s, separated by a space.
	if s := strings.TrimRight(title, "#"); s != title && (s == "" || strings.HasSuffix(s, " ")) {
		title = strings.TrimSpace(s)
	}
	return n, title, true
}
