package extract

import (
	"context"
	"errors"
	"fmt"
	"image"
	"iter"
	"math"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/enums"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
)

// DefaultRenderDPI is the resolution OCR models are usually trained near:
// 10 pt text is about 28 pixels high.
const DefaultRenderDPI = 200

// maxRenderDPI stops a typo (20000 for 200) from meaning "as large as the
// pixel limit allows" on every page.
const maxRenderDPI = 1200

// RenderOptions says how to rasterise PDF pages. The zero value is valid.
type RenderOptions struct {
	// DPI is the resolution, 1 to 1200. A page that would have more than
	// Limits.MaxPixels pixels at this DPI is rendered at the highest DPI
	// that fits instead (see RenderedPage.DPI). Default: 200.
	DPI int `json:"dpi,omitempty"`
	// Grayscale renders 8-bit grey (*image.Gray) instead of RGBA
	// (*image.RGBA): a quarter of the memory, and what most OCR models
	// convert to anyway. Default: false.
	Grayscale bool `json:"grayscale,omitempty"`
	// Limits.MaxPixels bounds one rendered page; MaxPages is not used.
	// Default: the ImageLimits defaults.
	Limits ImageLimits `json:"limits,omitzero"`
}

func (o *RenderOptions) normalize() error {
	if o.DPI < 0 || o.DPI > maxRenderDPI {
		return fmt.Errorf("dpi %d is outside 1 to %d", o.DPI, maxRenderDPI)
	}
	if o.DPI == 0 {
		o.DPI = DefaultRenderDPI
	}
	return o.Limits.normalize()
}

// RenderedPage is one rasterised PDF page.
type RenderedPage struct {
	// Number is the 1-based page number.
	Number int
	// Image is the page as displayed (its /Rotate applied), white where the
	// page is transparent, with bounds starting at (0, 0). It is a copy
	// owned by the caller.
	Image image.Image
	// DPI is the resolution used: RenderOptions.DPI, or less when the pixel
	// limit lowered it.
	DPI int
	// Scale is pixels per PDF point (DPI/72). A pixel (px, py) covers the
	// point (px/Scale, py/Scale) of the displayed page, origin top-left,
	// which is the frame of scheduler.Page's Width, Height and block boxes.
	Scale float64
	// Width and Height are the displayed page's size in points.
	Width, Height float64
}

// RenderPDF rasterises the given 1-based pages (all pages when pages is
// empty) of the PDF at path, in the order given. The sequence stops after
// the first error, which wraps ErrCorrupt, ErrEncrypted, ErrImageTooLarge
// (a page too large even at 1 DPI) or is ctx.Err(); ctx is checked between
// pages.
//
// The sequence holds one PDFium instance until it ends, so a caller that
// does slow work per page (OCR) and has a small pool should collect the
// pages first, trading memory (about 15 MB per A4 RGBA page at 200 DPI,
// 4 MB grey) for the instance.
func (e *PDFEngine) RenderPDF(ctx context.Context, path string, pages []int, opts RenderOptions) iter.Seq2[RenderedPage, error] {
	return e.render(ctx, source{path: path}, pages, opts)
}

// RenderPDFBytes is RenderPDF for a PDF held in memory.
func (e *PDFEngine) RenderPDFBytes(ctx context.Context, data []byte, pages []int, opts RenderOptions) iter.Seq2[RenderedPage, error] {
	return e.render(ctx, source{data: data}, pages, opts)
}

// errStopped ends withDocument when the consumer stops the sequence early.
var errStopped = errors.New("stopped by the caller")

func (e *PDFEngine) render(ctx context.Context, src source, pages []int, opts RenderOptions) iter.Seq2[RenderedPage, error] {
	return func(yield func(RenderedPage, error) bool) {
		if err := opts.normalize(); err != nil {
			yield(RenderedPage{}, fmt.Errorf("validating render options: %w", err))
			return
		}
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
				rp, err := renderPage(inst, doc, p, opts)
				if err != nil {
					return fmt.Errorf("rendering page %d: %w", p, err)
				}
				if !yield(rp, nil) {
					return errStopped
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopped) {
			yield(RenderedPage{}, fmt.Errorf("rendering pdf: %w", err))
		}
	}
}

// renderPage renders one page and copies the bitmap out of the WebAssembly
// memory, which the next call may reuse.
func renderPage(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, number int, opts RenderOptions) (RenderedPage, error) {
	page := requests.Page{ByIndex: &requests.PageByIndex{Document: doc, Index: number - 1}}
	size, err := inst.GetPageSize(&requests.GetPageSize{Page: page})
	if err != nil {
		return RenderedPage{}, fmt.Errorf("reading page size: %w", err)
	}
	dpi, err := fitDPI(size.Width, size.Height, opts.DPI, opts.Limits.MaxPixels)
	if err != nil {
		return RenderedPage{}, err
	}
	req := &requests.RenderPageInDPI{
		Page: page, DPI: dpi,
		// Annotations carry visible content (stamps, filled-in forms) that
		// a reader sees and OCR should too.
		RenderFlags: enums.FPDF_RENDER_FLAG_ANNOT,
	}
	if opts.Grayscale {
		req.ImageFormat = requests.RenderImageFormatGrayscale
	}
	res, err := inst.RenderPageInDPI(req)
	if err != nil {
		return RenderedPage{}, fmt.Errorf("rendering: %w", err)
	}
	img := copyImage(res.Result.RenderedImage, res.Result.HasTransparency)
	res.Cleanup()
	if img == nil {
		return RenderedPage{}, errors.New("rendering: pdfium returned no image")
	}
	return RenderedPage{
		Number: number, Image: img, DPI: dpi, Scale: float64(dpi) / 72,
		Width: size.Width, Height: size.Height,
	}, nil
}

// fitDPI returns dpi, or the highest lower DPI at which a w×h point page
// stays within maxPixels, using PDFium's rounding (pixels = ceil(points ×
// dpi / 72)).
func fitDPI(w, h float64, dpi int, maxPixels int64) (int, error) {
	if w <= 0 || h <= 0 || math.IsNaN(w+h) || math.IsInf(w+h, 0) {
		return 0, fmt.Errorf("page is %g×%g points: %w", w, h, ErrCorrupt)
	}
	px := func(d int) float64 {
		s := float64(d) / 72
		return math.Ceil(w*s) * math.Ceil(h*s)
	}
	if px(dpi) <= float64(maxPixels) {
		return dpi, nil
	}
	d := min(dpi-1, int(72*math.Sqrt(float64(maxPixels)/(w*h))))
	for d >= 1 && px(d) > float64(maxPixels) {
		d--
	}
	if d < 1 {
		return 0, fmt.Errorf("%g×%g point page is over the limit of %d pixels even at 1 dpi: %w", w, h, maxPixels, ErrImageTooLarge)
	}
	return d, nil
}

// copyImage copies a rendered bitmap into Go memory with a tight stride.
// PDFium leaves a page with transparency on a transparent background in
// RGBA; flatten composes it onto white, as a viewer shows it and OCR
// expects.
func copyImage(img image.Image, flatten bool) image.Image {
	switch m := img.(type) {
	case *image.RGBA:
		d := image.NewRGBA(image.Rect(0, 0, m.Rect.Dx(), m.Rect.Dy()))
		for y := range d.Rect.Dy() {
			copy(d.Pix[y*d.Stride:(y+1)*d.Stride], m.Pix[y*m.Stride:])
		}
		if flatten {
			// With premultiplied alpha, white under a pixel adds 255-a to
			// every channel; saturating keeps a non-premultiplied bitmap
			// from wrapping around.
			for i := 0; i < len(d.Pix); i += 4 {
				u := 255 - uint16(d.Pix[i+3])
				for c := i; c < i+3; c++ {
					d.Pix[c] = uint8(min(255, uint16(d.Pix[c])+u))
				}
				d.Pix[i+3] = 255
			}
		}
		return d
	case *image.Gray:
		d := image.NewGray(image.Rect(0, 0, m.Rect.Dx(), m.Rect.Dy()))
		for y := range d.Rect.Dy() {
			copy(d.Pix[y*d.Stride:(y+1)*d.Stride], m.Pix[y*m.Stride:])
		}
		return d
	}
	return nil
}
