package extract

import (
	"errors"
	"image"
	"testing"
	"time"
)

// renderAll collects a RenderPDF sequence.
func renderAll(t testing.TB, e *PDFEngine, file string, pages []int, opts RenderOptions) ([]RenderedPage, error) {
	t.Helper()
	var out []RenderedPage
	for p, err := range e.RenderPDF(t.Context(), "testdata/"+file, pages, opts) {
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

// darkPixels counts pixels darker than mid-grey: ink.
func darkPixels(m image.Image) int {
	n := 0
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := m.At(x, y).RGBA()
			if (r+g+bl)/3 < 0x8000 {
				n++
			}
		}
	}
	return n
}

func TestRenderPDF(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name     string
		file     string
		pages    []int
		opts     RenderOptions
		numbers  []int
		w, h     int // of the first page
		dpi      int
		grey     bool
		wantInk  bool
		ptW, ptH float64
	}{
		{name: "A4 at 72 dpi is its size in points", file: "hello.pdf", opts: RenderOptions{DPI: 72},
			numbers: []int{1}, w: 595, h: 842, dpi: 72, wantInk: true, ptW: 595, ptH: 842},
		{name: "A4 at the default 200 dpi", file: "hello.pdf",
			numbers: []int{1}, w: 1653, h: 2339, dpi: 200, wantInk: true, ptW: 595, ptH: 842},
		{name: "grayscale", file: "hello.pdf", opts: RenderOptions{DPI: 100, Grayscale: true},
			numbers: []int{1}, w: 827, h: 1170, dpi: 100, grey: true, wantInk: true, ptW: 595, ptH: 842},
		{name: "rotated page renders as displayed", file: "rotated.pdf", opts: RenderOptions{DPI: 72},
			numbers: []int{1}, w: 842, h: 595, dpi: 72, wantInk: true, ptW: 842, ptH: 595},
		{name: "pages in the order asked", file: "pages.pdf", pages: []int{3, 1}, opts: RenderOptions{DPI: 36},
			numbers: []int{3, 1}, w: 298, h: 421, dpi: 36, wantInk: true, ptW: 595, ptH: 842},
		{name: "pixel limit lowers the dpi", file: "hello.pdf", opts: RenderOptions{Limits: ImageLimits{MaxPixels: 1_000_000}},
			numbers: []int{1}, w: 835, h: 1182, dpi: 101, wantInk: true, ptW: 595, ptH: 842},
		{name: "a page without text still renders", file: "notext.pdf", opts: RenderOptions{DPI: 72},
			numbers: []int{1}, w: 595, h: 842, dpi: 72, wantInk: true, ptW: 595, ptH: 842},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			pages, err := renderAll(t, e, tt.file, tt.pages, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("rendered %d page(s) in %v", len(pages), time.Since(start))
			if len(pages) != len(tt.numbers) {
				t.Fatalf("got %d pages, want %d", len(pages), len(tt.numbers))
			}
			for i, p := range pages {
				if p.Number != tt.numbers[i] {
					t.Errorf("page %d is number %d, want %d", i, p.Number, tt.numbers[i])
				}
			}
			p := pages[0]
			if b := p.Image.Bounds(); b != image.Rect(0, 0, tt.w, tt.h) {
				t.Errorf("bounds %v, want %dx%d", b, tt.w, tt.h)
			}
			if p.DPI != tt.dpi || p.Scale != float64(tt.dpi)/72 {
				t.Errorf("dpi %d scale %g, want %d, %g", p.DPI, p.Scale, tt.dpi, float64(tt.dpi)/72)
			}
			if p.Width != tt.ptW || p.Height != tt.ptH {
				t.Errorf("page %gx%g pt, want %gx%g", p.Width, p.Height, tt.ptW, tt.ptH)
			}
			if _, ok := p.Image.(*image.Gray); ok != tt.grey {
				t.Errorf("image is %T, grayscale %v", p.Image, tt.grey)
			}
			if max := int64(tt.opts.Limits.MaxPixels); max > 0 && int64(tt.w*tt.h) > max {
				t.Errorf("%d pixels over the limit %d", tt.w*tt.h, max)
			}
			if ink := darkPixels(p.Image); (ink > 0) != tt.wantInk || ink > tt.w*tt.h/4 {
				t.Errorf("%d dark pixels of %d", ink, tt.w*tt.h)
			}
			if r, g, b, a := p.Image.At(0, 0).RGBA(); r != 0xffff || g != 0xffff || b != 0xffff || a != 0xffff {
				t.Errorf("corner pixel %x %x %x %x, want opaque white", r, g, b, a)
			}
		})
	}
}

func TestRenderPDFErrors(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name  string
		file  string
		pages []int
		opts  RenderOptions
		want  error // nil: any error
	}{
		{name: "corrupt", file: "corrupt.pdf", want: ErrCorrupt},
		{name: "encrypted", file: "encrypted.pdf", want: ErrEncrypted},
		{name: "too large even at 1 dpi", file: "hello.pdf", opts: RenderOptions{Limits: ImageLimits{MaxPixels: 10}}, want: ErrImageTooLarge},
		{name: "page out of range", file: "hello.pdf", pages: []int{2}},
		{name: "dpi over the maximum", file: "hello.pdf", opts: RenderOptions{DPI: 20000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderAll(t, e, tt.file, tt.pages, tt.opts)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRenderPDFStopEarly(t *testing.T) {
	e := sharedEngine(t, PDFConfig{MaxTotal: 1})
	for range e.RenderPDF(t.Context(), "testdata/pages.pdf", nil, RenderOptions{DPI: 10}) {
		break
	}
	// The only instance is free again.
	if _, err := renderAll(t, e, "pages.pdf", nil, RenderOptions{DPI: 10}); err != nil {
		t.Fatal(err)
	}
}

func TestFitDPI(t *testing.T) {
	tests := []struct {
		name      string
		w, h      float64
		dpi       int
		maxPixels int64
		want      int
		err       error
	}{
		{"fits", 595, 842, 200, DefaultMaxPixels, 200, nil},
		{"A0 poster at 600 dpi is lowered", 2384, 3370, 600, DefaultMaxPixels, 179, nil},
		{"exact fit at 72", 10, 10, 72, 100, 72, nil},
		{"one pixel short: ceil keeps 65 to 71 dpi at 10 pixels", 10, 10, 72, 99, 64, nil},
		{"nothing fits", 14400, 14400, 72, 100, 0, ErrImageTooLarge},
		{"empty page", 0, 842, 72, 100, 0, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fitDPI(tt.w, tt.h, tt.dpi, tt.maxPixels)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("fitDPI = %d, %v; want %d, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// BenchmarkRenderA4 renders hello.pdf's A4 page at 72 dpi (the baseline),
// 200 dpi in RGBA and 200 dpi in grey.
func BenchmarkRenderA4(b *testing.B) {
	e := testEngine(b)
	var base time.Duration
	for _, tc := range []struct {
		name string
		opts RenderOptions
	}{
		{"72dpi", RenderOptions{DPI: 72}},
		{"200dpi_rgba", RenderOptions{DPI: 200}},
		{"200dpi_grey", RenderOptions{DPI: 200, Grayscale: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			d := perOp(b, func() {
				for _, err := range e.RenderPDF(b.Context(), "testdata/hello.pdf", nil, tc.opts) {
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(d.Microseconds())/1000, "ms/page")
			if base == 0 {
				base = d
			} else {
				b.ReportMetric(float64(d)/float64(base), "x_of_72dpi")
			}
		})
	}
}
