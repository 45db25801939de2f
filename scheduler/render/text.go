package render

import (
	"strings"

	"github.com/docstrange/mesh/scheduler"
)

// Text renders doc as plain UTF-8 text: blocks separated by a blank line,
// headings as their bare text, and pages separated by a line holding a
// single form feed (U+000C), as pdftotext does. Warnings are left out.
func Text(doc *scheduler.Document) []byte {
	var b strings.Builder
	for i, p := range doc.Pages {
		if i > 0 {
			b.WriteString("\f\n")
		}
		wrote := false
		for _, blk := range p.Blocks {
			t := strings.TrimSpace(blk.Text)
			if blk.Type == scheduler.BlockHeading {
				t = oneLine(t)
			}
			if t == "" {
				continue
			}
			if wrote {
				b.WriteByte('\n')
			}
			b.WriteString(t)
			b.WriteByte('\n')
			wrote = true
		}
	}
	return []byte(b.String())
}
