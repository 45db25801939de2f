package extract

import (
	"context"
	"fmt"
	"unicode"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/enums"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
)

// OCRMode is a job's ocr option.
type OCRMode string

// OCR modes.
const (
	// OCRAuto OCRs the PDF pages whose text layer is not usable (see
	// TextLayerPolicy) and every image page.
	OCRAuto OCRMode = "auto"
	// OCRForce OCRs every page, ignoring any text layer.
	OCRForce OCRMode = "force"
	// OCROff never OCRs: PDF pages keep their text layer, image pages come
	// back empty with a warning.
	OCROff OCRMode = "off"
)

// ParseOCRMode accepts "auto", "force" and "off"; "" means auto. Anything
// else is an error, so a typo never silently becomes the default.
func ParseOCRMode(s string) (OCRMode, error) {
	switch m := OCRMode(s); m {
	case "":
		return OCRAuto, nil
	case OCRAuto, OCRForce, OCROff:
		return m, nil
	}
	return "", fmt.Errorf("unknown ocr mode %q: want auto, force or off", s)
}

// TextLayer measures one PDF page's text layer: enough to tell a born-digital
// page from a scan (no text), a scan with a partial or stray text layer, and
// text in fonts without a Unicode mapping (garbage).
type TextLayer struct {
	// Page is the 1-based page number.
	Page int `json:"page"`
	// Chars counts the characters other than whitespace that map to
	// ordinary Unicode.
	Chars int `json:"chars"`
	// Bad counts the characters that do not: U+FFFD and other non-
	// characters, control codes and private-use code points, which is
	// what fonts without a ToUnicode map produce.
	Bad int `json:"bad"`
	// TextCoverage is the fraction of the page inside the bounding box of
	// all text, 0 to 1.
	TextCoverage float64 `json:"text_coverage"`
	// ImageCoverage is the fraction of the page covered by raster images
	// (summed, capped at 1); a scan is close to 1.
	ImageCoverage float64 `json:"image_coverage"`
}

// TextLayerPolicy decides when a text layer is good enough to skip OCR.
// The zero value means the defaults.
type TextLayerPolicy struct {
	// MinChars is the fewest characters a usable layer has. Fewer are a
	// page number or a stamp on a scan, or nothing at all. Default: 16.
	MinChars int `json:"min_chars,omitempty"`
	// MaxBadRatio is the largest share of Bad among Chars+Bad in a usable
	// layer. Default: 0.1.
	MaxBadRatio float64 `json:"max_bad_ratio,omitempty"`
	// ScanCoverage is the ImageCoverage from which a page is taken to be a
	// scan, whose text layer must then cover at least MinTextCoverage of
	// the page to be trusted. Default: 0.5.
	ScanCoverage float64 `json:"scan_coverage,omitempty"`
	// MinTextCoverage: see ScanCoverage. Default: 0.25.
	MinTextCoverage float64 `json:"min_text_coverage,omitempty"`
}

// Validate fills in defaults and rejects values outside their range.
func (p *TextLayerPolicy) Validate() error {
	if p.MinChars < 0 {
		return fmt.Errorf("min_chars %d is negative", p.MinChars)
	}
	for name, v := range map[string]float64{"max_bad_ratio": p.MaxBadRatio, "scan_coverage": p.ScanCoverage, "min_text_coverage": p.MinTextCoverage} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s %g is outside 0 to 1", name, v)
		}
	}
	*p = p.withDefaults()
	return nil
}

func (p TextLayerPolicy) withDefaults() TextLayerPolicy {
	if p.MinChars == 0 {
		p.MinChars = 16
	}
	if p.MaxBadRatio == 0 {
		p.MaxBadRatio = 0.1
	}
	if p.ScanCoverage == 0 {
		p.ScanCoverage = 0.5
	}
	if p.MinTextCoverage == 0 {
		p.MinTextCoverage = 0.25
	}
	return p
}

// Usable reports whether l is good enough to use instead of OCR: enough
// characters, few of them garbage, and, on a page that looks scanned,
// spread over a reasonable part of it.
func (p TextLayerPolicy) Usable(l TextLayer) bool {
	p = p.withDefaults()
	if l.Chars < p.MinChars {
		return false
	}
	if float64(l.Bad) > p.MaxBadRatio*float64(l.Chars+l.Bad) {
		return false
	}
	if l.ImageCoverage >= p.ScanCoverage && l.TextCoverage < p.MinTextCoverage {
		return false
	}
	return true
}

// NeedsOCR reports whether a PDF page with text layer l is to be OCRed in
// mode.
func (p TextLayerPolicy) NeedsOCR(mode OCRMode, l TextLayer) bool {
	switch mode {
	case OCRForce:
		return true
	case OCROff:
		return false
	}
	return !p.Usable(l)
}

// TextLayers measures the text layer of the given 1-based pages (all pages
// when pages is empty) of the PDF at path. It reads each page's text in one
// call and its objects' bounds, without the per-character work of
// ExtractPDF: about a millisecond for a typical page.
func (e *PDFEngine) TextLayers(ctx context.Context, path string, pages []int) ([]TextLayer, error) {
	return e.textLayers(ctx, source{path: path}, pages)
}

// TextLayersBytes is TextLayers for a PDF held in memory.
func (e *PDFEngine) TextLayersBytes(ctx context.Context, data []byte, pages []int) ([]TextLayer, error) {
	return e.textLayers(ctx, source{data: data}, pages)
}

func (e *PDFEngine) textLayers(ctx context.Context, src source, pages []int) ([]TextLayer, error) {
	var out []TextLayer
	err := e.withDocument(ctx, src, func(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT) error {
		n, err := pageCount(inst, doc)
		if err != nil {
			return err
		}
		pages, err = resolvePages(pages, n)
		if err != nil {
			return err
		}
		for _, p := range pages {
			if err := ctx.Err(); err != nil {
				return err
			}
			l, err := measurePage(ctx, inst, doc, p)
			if err != nil {
				return fmt.Errorf("measuring page %d: %w", p, err)
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("measuring text layers: %w", err)
	}
	return out, nil
}

func measurePage(ctx context.Context, inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, number int) (TextLayer, error) {
	loaded, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: doc, Index: number - 1})
	if err != nil {
		return TextLayer{}, fmt.Errorf("loading page: %w", err)
	}
	defer func() { _, _ = inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: loaded.Page}) }()
	page := requests.Page{ByReference: &loaded.Page}
	geo, err := geometryOf(inst, page)
	if err != nil {
		return TextLayer{}, err
	}
	l := TextLayer{Page: number}
	if geo.w <= 0 || geo.h <= 0 {
		return l, nil
	}
	pageBox := rect{geo.left, geo.top - geo.h, geo.left + geo.w, geo.top} // user space, y up
	if err := measureText(inst, page, pageBox, &l); err != nil {
		return TextLayer{}, err
	}
	area, err := imageArea(ctx, inst, page, pageBox)
	if err != nil {
		return TextLayer{}, err
	}
	l.ImageCoverage = min(1, area/(geo.w*geo.h))
	return l, nil
}

// measureText counts the page's characters and the extent of its text.
func measureText(inst pdfium.Pdfium, page requests.Page, pageBox rect, l *TextLayer) error {
	tp, err := inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: page})
	if err != nil {
		return fmt.Errorf("loading text page: %w", err)
	}
	defer func() { _, _ = inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage}) }()
	count, err := inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return fmt.Errorf("counting characters: %w", err)
	}
	if count.Count <= 0 {
		return nil
	}
	text, err := inst.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, Count: count.Count})
	if err != nil {
		return fmt.Errorf("reading text: %w", err)
	}
	for _, r := range text.Text {
		switch {
		case unicode.IsSpace(r), r == '\u200b', r == 2: // 2: PDFium's soft hyphen
		case r < ' ', r == 0x7f, r == '\uFFFD', r == '\uFFFE', r == '\uFFFF', unicode.Is(unicode.Co, r):
			l.Bad++
		default:
			l.Chars++
		}
	}
	rects, err := inst.FPDFText_CountRects(&requests.FPDFText_CountRects{TextPage: tp.TextPage, Count: -1})
	if err != nil {
		return fmt.Errorf("counting text boxes: %w", err)
	}
	var ext rect
	found := false
	for i := range rects.Count {
		r, err := inst.FPDFText_GetRect(&requests.FPDFText_GetRect{TextPage: tp.TextPage, Index: i})
		if err != nil {
			continue
		}
		b := rect{min(r.Left, r.Right), min(r.Top, r.Bottom), max(r.Left, r.Right), max(r.Top, r.Bottom)}
		if !found {
			ext, found = b, true
		} else {
			ext = ext.union(b)
		}
	}
	if found {
		l.TextCoverage = min(1, clippedArea(ext, pageBox)/(pageBox.w()*pageBox.h()))
	}
	return nil
}

// maxFormDepth bounds the descent into form XObjects, which may nest.
const maxFormDepth = 4

// imageArea sums the on-page area of the page's raster images. A form
// XObject that contains an image anywhere counts with its whole bounds:
// scanners wrap page images in forms, and the bounds of a form's children
// are in the form's own space.
func imageArea(ctx context.Context, inst pdfium.Pdfium, page requests.Page, pageBox rect) (float64, error) {
	n, err := inst.FPDFPage_CountObjects(&requests.FPDFPage_CountObjects{Page: page})
	if err != nil {
		return 0, fmt.Errorf("counting page objects: %w", err)
	}
	area := 0.0
	for i := range n.Count {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		obj, err := inst.FPDFPage_GetObject(&requests.FPDFPage_GetObject{Page: page, Index: i})
		if err != nil {
			return 0, fmt.Errorf("reading page object %d: %w", i, err)
		}
		if !holdsImage(inst, obj.PageObject, 0) {
			continue
		}
		b, err := inst.FPDFPageObj_GetBounds(&requests.FPDFPageObj_GetBounds{PageObject: obj.PageObject})
		if err != nil {
			continue
		}
		area += clippedArea(rect{float64(b.Left), float64(b.Bottom), float64(b.Right), float64(b.Top)}, pageBox)
	}
	return area, nil
}

// holdsImage reports whether obj is an image or a form containing one.
func holdsImage(inst pdfium.Pdfium, obj references.FPDF_PAGEOBJECT, depth int) bool {
	t, err := inst.FPDFPageObj_GetType(&requests.FPDFPageObj_GetType{PageObject: obj})
	if err != nil {
		return false
	}
	switch t.Type {
	case enums.FPDF_PAGEOBJ_IMAGE:
		return true
	case enums.FPDF_PAGEOBJ_FORM:
		if depth >= maxFormDepth {
			return false
		}
		n, err := inst.FPDFFormObj_CountObjects(&requests.FPDFFormObj_CountObjects{PageObject: obj})
		if err != nil {
			return false
		}
		for i := range n.Count {
			child, err := inst.FPDFFormObj_GetObject(&requests.FPDFFormObj_GetObject{PageObject: obj, Index: uint64(i)})
			if err == nil && holdsImage(inst, child.PageObject, depth+1) {
				return true
			}
		}
	}
	return false
}

// clippedArea is the area of r inside page.
func clippedArea(r, page rect) float64 {
	w := min(r.x1, page.x1) - max(r.x0, page.x0)
	h := min(r.y1, page.y1) - max(r.y0, page.y0)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}
