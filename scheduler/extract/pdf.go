package extract

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
)

// ctxCheckEvery is how many characters are read between context checks.
const ctxCheckEvery = 256

// ExtractPDF reads the text layer of the given 1-based pages (all pages when
// pages is empty) of the PDF at path. The result carries MediaType,
// PageCount (of the whole document), Pages and Timings.ExtractMS; the caller
// fills in the job fields. progress, when not nil, is called after each page
// with the number of pages done.
//
// Blocks are in reading order: top to bottom, columns left to right when the
// page has a clear gutter. A page without a text layer gets a warning and no
// blocks. The context is checked between pages and every few hundred
// characters; a cancelled extraction returns ctx.Err().
func (e *PDFEngine) ExtractPDF(ctx context.Context, path string, pages []int, progress func(done int)) (*scheduler.Document, error) {
	start := time.Now()
	doc := &scheduler.Document{MediaType: MediaTypePDF}
	var raw [][]textBlock
	err := e.withDocument(ctx, source{path: path}, func(inst pdfium.Pdfium, d references.FPDF_DOCUMENT) error {
		n, err := pageCount(inst, d)
		if err != nil {
			return err
		}
		doc.PageCount = n
		pages, err = resolvePages(pages, n)
		if err != nil {
			return err
		}
		for i, p := range pages {
			if err := ctx.Err(); err != nil {
				return err
			}
			page, blocks, err := readPage(ctx, inst, d, p)
			if err != nil {
				return fmt.Errorf("reading page %d: %w", p, err)
			}
			doc.Pages = append(doc.Pages, page)
			raw = append(raw, blocks)
			if progress != nil {
				progress(i + 1)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("extracting pdf: %w", err)
	}
	levels := headingLevels(raw)
	for i := range doc.Pages {
		doc.Pages[i].Blocks = toBlocks(raw[i], levels)
	}
	doc.Timings.ExtractMS = time.Since(start).Milliseconds()
	return doc, nil
}

// pageGeometry is what is needed to map PDF user space to the result's
// top-left coordinates.
type pageGeometry struct {
	left, top float64 // of the visible page box, in user space
	w, h      float64 // unrotated size
	rotation  int     // clockwise quarter turns the viewer applies
}

// readPage extracts one page's layout. Blocks come back in the displayed
// page's coordinates; their types are set later, once the whole document's
// body size is known.
func readPage(ctx context.Context, inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, number int) (scheduler.Page, []textBlock, error) {
	loaded, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: doc, Index: number - 1})
	if err != nil {
		return scheduler.Page{}, nil, fmt.Errorf("loading page: %w", err)
	}
	defer func() { _, _ = inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: loaded.Page}) }()
	page := requests.Page{ByReference: &loaded.Page}

	geo, err := geometryOf(inst, page)
	if err != nil {
		return scheduler.Page{}, nil, err
	}
	glyphs, dir, err := readGlyphs(ctx, inst, page, geo)
	if err != nil {
		return scheduler.Page{}, nil, err
	}

	// Lay the text out in a frame where it runs left to right, then turn
	// the boxes to the page as displayed.
	for i := range glyphs {
		glyphs[i].box, _, _ = turn(glyphs[i].box, geo.w, geo.h, -dir)
	}
	_, fw, fh := turn(rect{}, geo.w, geo.h, -dir)
	blocks := layout(glyphs)
	for i := range blocks {
		blocks[i].box, _, _ = turn(blocks[i].box, fw, fh, geo.rotation+dir)
	}
	_, dw, dh := turn(rect{}, geo.w, geo.h, geo.rotation)

	out := scheduler.Page{Number: number, Width: round2(dw), Height: round2(dh)}
	if len(blocks) == 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("page %d has no text layer; OCR is not available yet", number))
	}
	return out, blocks, nil
}

// layout turns a page's glyphs into blocks in reading order.
func layout(glyphs []glyph) []textBlock {
	groups := readingOrder(segmentsOf(spansOf(glyphs)), 0)
	for i, g := range groups {
		groups[i] = linesOf(g)
	}
	ratio := pitchRatio(groups)
	var blocks []textBlock
	for _, g := range groups {
		blocks = append(blocks, blocksOf(g, ratio)...)
	}
	return blocks
}

func geometryOf(inst pdfium.Pdfium, page requests.Page) (pageGeometry, error) {
	bb, err := inst.FPDF_GetPageBoundingBox(&requests.FPDF_GetPageBoundingBox{Page: page})
	if err != nil {
		return pageGeometry{}, fmt.Errorf("reading page box: %w", err)
	}
	rot, err := inst.FPDFPage_GetRotation(&requests.FPDFPage_GetRotation{Page: page})
	if err != nil {
		return pageGeometry{}, fmt.Errorf("reading page rotation: %w", err)
	}
	r := bb.Rect
	return pageGeometry{
		left: float64(r.Left), top: float64(r.Top),
		w: float64(r.Right - r.Left), h: float64(r.Top - r.Bottom),
		rotation: int(rot.PageRotation),
	}, nil
}

// readGlyphs reads every character of the page's text layer in content
// order, in unrotated top-left coordinates, and the dominant writing
// direction in quarter turns. Per character it asks for the loose box (the
// font's full ascent-to-descent height, so every glyph of a line lines up),
// the font size and the text matrix.
func readGlyphs(ctx context.Context, inst pdfium.Pdfium, page requests.Page, geo pageGeometry) ([]glyph, int, error) {
	tp, err := inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: page})
	if err != nil {
		return nil, 0, fmt.Errorf("loading text page: %w", err)
	}
	defer func() { _, _ = inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage}) }()
	count, err := inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return nil, 0, fmt.Errorf("counting characters: %w", err)
	}
	var dirs [4]int
	glyphs := make([]glyph, 0, count.Count)
	for i := range count.Count {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		g, dir, err := readGlyph(inst, tp.TextPage, i, geo)
		if err != nil {
			return nil, 0, err
		}
		if g.r == 0 {
			continue
		}
		if g.r != ' ' && g.r != '\n' {
			dirs[dir]++
		}
		glyphs = append(glyphs, g)
	}
	dir := 0
	for d, n := range dirs {
		if n > dirs[dir] {
			dir = d
		}
	}
	return glyphs, dir, nil
}

// readGlyph reads character i. A zero rune means "skip": a code PDFium
// could not map to Unicode, or a glyph outside the visible page.
func readGlyph(inst pdfium.Pdfium, tp references.FPDF_TEXTPAGE, i int, geo pageGeometry) (glyph, int, error) {
	u, err := inst.FPDFText_GetUnicode(&requests.FPDFText_GetUnicode{TextPage: tp, Index: i})
	if err != nil {
		return glyph{}, 0, fmt.Errorf("reading character %d: %w", i, err)
	}
	r := rune(u.Unicode)
	switch {
	case r == 0 || r == 0xFFFE || r == 0xFFFF:
		return glyph{}, 0, nil
	case r == '\r' || r == '\n':
		return glyph{r: '\n'}, 0, nil
	case r == 2: // PDFium's mark for a hyphen that breaks a word at a line end
		r = softHyphen
	case r < ' ' || r == '\u00a0' || r == '\u200b' || isSpace(r):
		return glyph{r: ' '}, 0, nil
	}
	box, err := inst.FPDFText_GetLooseCharBox(&requests.FPDFText_GetLooseCharBox{TextPage: tp, Index: i})
	if err != nil {
		// PDFium has no box for some generated characters; they are
		// spacing, not ink.
		return glyph{r: ' '}, 0, nil
	}
	b := box.Rect
	g := glyph{r: r, box: rect{
		x0: float64(b.Left) - geo.left, x1: float64(b.Right) - geo.left,
		y0: geo.top - float64(b.Top), y1: geo.top - float64(b.Bottom),
	}}
	if g.box.x1 <= 0 || g.box.y1 <= 0 || g.box.x0 >= geo.w || g.box.y0 >= geo.h {
		return glyph{}, 0, nil
	}
	dir := 0
	size := 0.0
	if fs, err := inst.FPDFText_GetFontSize(&requests.FPDFText_GetFontSize{TextPage: tp, Index: i}); err == nil {
		size = fs.FontSize
	}
	if m, err := inst.FPDFText_GetMatrix(&requests.FPDFText_GetMatrix{TextPage: tp, Index: i}); err == nil {
		mx := m.Matrix
		size *= math.Hypot(float64(mx.C), float64(mx.D))
		// User space has y up; the layout has y down.
		dir = quarterTurns(float64(mx.A), -float64(mx.B))
	}
	if size <= 0 {
		size = max(g.box.h(), g.box.w()) / 1.15
	}
	g.size = size
	return g, dir, nil
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005',
		'\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u202f', '\u205f', '\u3000':
		return true
	}
	return false
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
