package render

import (
	"fmt"
	"html"
	"strings"

	"github.com/docstrange/mesh/scheduler"
)

// HTML renders doc as a complete, self-contained HTML5 document: one
// <section> per page, headings as <h1>–<h6>, other blocks as <p>, warnings
// as notes. Every piece of text, attribute values included, goes through
// html.EscapeString, so text from a document can never become markup.
// Blocks keep their box and source in data-bbox and data-source attributes.
func HTML(doc *scheduler.Document) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(title(doc)))
	b.WriteString("<style>body{max-width:50em;margin:2em auto;padding:0 1em;font-family:sans-serif;line-height:1.5}" +
		"section.page+section.page{border-top:1px solid #ccc;margin-top:2em}.warning{color:#a40}</style>\n")
	b.WriteString("</head>\n<body>\n<main>\n")
	for _, p := range doc.Pages {
		fmt.Fprintf(&b, "<section class=\"page\" id=\"page-%d\" data-page=\"%d\">\n", p.Number, p.Number)
		for _, w := range p.Warnings {
			fmt.Fprintf(&b, "<p class=\"warning\" role=\"note\">%s</p>\n", html.EscapeString(w))
		}
		for _, blk := range p.Blocks {
			htmlBlock(&b, blk)
		}
		b.WriteString("</section>\n")
	}
	b.WriteString("</main>\n</body>\n</html>\n")
	return []byte(b.String())
}

func htmlBlock(b *strings.Builder, blk scheduler.Block) {
	text := strings.TrimSpace(blk.Text)
	if text == "" {
		return
	}
	attrs := " data-source=\"" + html.EscapeString(blk.Source) + "\""
	if bb := blk.BBox; bb != nil {
		attrs += fmt.Sprintf(" data-bbox=\"%g %g %g %g\"", bb.X0, bb.Y0, bb.X1, bb.Y1)
	}
	if blk.Type == scheduler.BlockHeading {
		n := headingLevel(blk)
		fmt.Fprintf(b, "<h%d%s>%s</h%d>\n", n, attrs, html.EscapeString(oneLine(text)), n)
		return
	}
	if blk.Type != scheduler.BlockText {
		attrs = " class=\"" + html.EscapeString(blk.Type) + "\"" + attrs
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = html.EscapeString(l)
	}
	fmt.Fprintf(b, "<p%s>%s</p>\n", attrs, strings.Join(lines, "<br>\n"))
}

// title is the first heading, else the file name, else "Document".
func title(doc *scheduler.Document) string {
	for _, p := range doc.Pages {
		for _, blk := range p.Blocks {
			if blk.Type == scheduler.BlockHeading && strings.TrimSpace(blk.Text) != "" {
				return oneLine(blk.Text)
			}
		}
	}
	if doc.Filename != "" {
		return doc.Filename
	}
	return "Document"
}
