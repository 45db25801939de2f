package e2e

import (
	"bytes"
	"fmt"
)

// makePDF writes a valid PDF of n pages, each with a few lines of Helvetica
// text naming its page. Hand-written because no PDF writer in the module
// graph is worth a dependency for a test fixture, and a generated fixture
// lets the cancel test pick a page count large enough to still be running
// when the cancel arrives, without committing megabytes.
func makePDF(n int) []byte {
	var b bytes.Buffer
	offsets := []int{}
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	// 1: catalog, 2: pages, 3: font, then per page: page + content.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := bytes.Buffer{}
	for i := range n {
		fmt.Fprintf(&kids, "%d 0 R ", 4+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", n, kids.String()))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range n {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		var content bytes.Buffer
		fmt.Fprintf(&content, "BT /F1 18 Tf 72 720 Td (Generated page %d) Tj ET\n", i+1)
		for l := range 20 {
			fmt.Fprintf(&content, "BT /F1 11 Tf 72 %d Td (Line %d of page %d: the quick brown fox jumps over the lazy dog.) Tj ET\n", 690-l*16, l+1, i+1)
		}
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}
