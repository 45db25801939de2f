package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

// blockSummary is the part of a block the layout tests pin down.
type blockSummary struct {
	typ   string
	level int
	text  string
}

func (b blockSummary) String() string { return fmt.Sprintf("%s/%d %q", b.typ, b.level, b.text) }

func summarize(p scheduler.Page) []blockSummary {
	var out []blockSummary
	for _, b := range p.Blocks {
		out = append(out, blockSummary{b.Type, b.Level, b.Text})
	}
	return out
}

const (
	helloPara1 = "DocStrange Mesh turns documents into text. This first paragraph is long enough to wrap onto a second line, so that line grouping and paragraph grouping are both exercised by the tests."
	helloPara2 = "The second paragraph follows after a gap and ends here."
)

var helloBlocks = []blockSummary{
	{"heading", 1, "Hello Mesh"},
	{"text", 0, helloPara1},
	{"text", 0, helloPara2},
}

func TestExtractPDF(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name      string
		file      string
		pages     []int
		wantCount int
		want      [][]blockSummary // per returned page
		wantSize  [2]float64       // width, height of the first page
		warnings  []string         // of the first page
	}{
		{
			name: "title and two paragraphs", file: "hello.pdf", wantCount: 1,
			want: [][]blockSummary{helloBlocks}, wantSize: [2]float64{595, 842},
		},
		{
			name: "rotated page reads the same", file: "rotated.pdf", wantCount: 1,
			want: [][]blockSummary{helloBlocks}, wantSize: [2]float64{842, 595},
		},
		{
			name: "owner password only", file: "owner-only.pdf", wantCount: 1,
			want: [][]blockSummary{helloBlocks}, wantSize: [2]float64{595, 842},
		},
		{
			name: "two columns: title, left column, right column", file: "columns.pdf", wantCount: 1,
			want: [][]blockSummary{{
				{"heading", 1, "Two Columns"},
				{"text", 0, "Left column first paragraph. It wraps over a few lines to make the column tall enough to be seen as one."},
				{"text", 0, "Left column second paragraph ends the left side."},
				{"text", 0, "Right column first paragraph. It also wraps over several lines of text in its narrow column."},
				{"text", 0, "Right column second paragraph ends the page."},
			}},
			wantSize: [2]float64{595, 842},
		},
		{
			name: "all pages in order", file: "pages.pdf", wantCount: 3,
			want: [][]blockSummary{
				{{"text", 0, "Page one says alpha."}},
				// groff puts the page number in the header from page 2 on.
				{{"text", 0, "-2-"}, {"text", 0, "Page two says bravo."}},
				{{"text", 0, "-3-"}, {"text", 0, "Page three says charlie."}},
			},
			wantSize: [2]float64{595, 842},
		},
		{
			name: "selected pages", file: "pages.pdf", pages: []int{1, 3}, wantCount: 3,
			want: [][]blockSummary{
				{{"text", 0, "Page one says alpha."}},
				{{"text", 0, "-3-"}, {"text", 0, "Page three says charlie."}},
			},
			wantSize: [2]float64{595, 842},
		},
		{
			name: "no text layer", file: "notext.pdf", wantCount: 1,
			want: [][]blockSummary{nil}, wantSize: [2]float64{595, 842},
			warnings: []string{"page 1 has no text layer; OCR is not available yet"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var progress []int
			doc, err := e.ExtractPDF(t.Context(), "testdata/"+tt.file, tt.pages, func(done int) { progress = append(progress, done) })
			if err != nil {
				t.Fatal(err)
			}
			if doc.MediaType != MediaTypePDF || doc.PageCount != tt.wantCount {
				t.Errorf("media %q, page count %d; want %q, %d", doc.MediaType, doc.PageCount, MediaTypePDF, tt.wantCount)
			}
			if len(doc.Pages) != len(tt.want) {
				t.Fatalf("got %d pages, want %d", len(doc.Pages), len(tt.want))
			}
			for i, p := range doc.Pages {
				if got := fmt.Sprint(summarize(p)); got != fmt.Sprint(tt.want[i]) {
					t.Errorf("page %d blocks:\n got %s\nwant %s", p.Number, got, fmt.Sprint(tt.want[i]))
				}
				if progress[i] != i+1 {
					t.Errorf("progress = %v, want 1..%d", progress, len(doc.Pages))
				}
				if p.Blocks == nil {
					t.Errorf("page %d: Blocks is nil; want an empty slice so JSON has []", p.Number)
				}
				checkBlocks(t, p)
			}
			if len(progress) != len(doc.Pages) {
				t.Errorf("progress called %d times, want %d", len(progress), len(doc.Pages))
			}
			if tt.pages != nil {
				for i, n := range tt.pages {
					if doc.Pages[i].Number != n {
						t.Errorf("page %d has Number %d, want %d", i, doc.Pages[i].Number, n)
					}
				}
			}
			first := doc.Pages[0]
			if first.Width != tt.wantSize[0] || first.Height != tt.wantSize[1] {
				t.Errorf("page size %vx%v, want %vx%v", first.Width, first.Height, tt.wantSize[0], tt.wantSize[1])
			}
			if fmt.Sprint(first.Warnings) != fmt.Sprint(tt.warnings) {
				t.Errorf("warnings %q, want %q", first.Warnings, tt.warnings)
			}
		})
	}
}

// checkBlocks asserts what holds for every text-layer block: a box inside
// the page, boxes in reading order for a single column, full confidence.
func checkBlocks(t *testing.T, p scheduler.Page) {
	t.Helper()
	for i, b := range p.Blocks {
		if b.Source != scheduler.SourceTextLayer || b.Confidence != 1 {
			t.Errorf("page %d block %d: source %q confidence %v", p.Number, i, b.Source, b.Confidence)
		}
		bb := b.BBox
		if bb == nil || bb.X0 < 0 || bb.Y0 < 0 || bb.X1 > p.Width || bb.Y1 > p.Height || bb.X0 >= bb.X1 || bb.Y0 >= bb.Y1 {
			t.Errorf("page %d block %d: bbox %+v outside the %vx%v page", p.Number, i, bb, p.Width, p.Height)
		}
	}
}

func TestExtractPDFBoxes(t *testing.T) {
	doc, err := testEngine(t).ExtractPDF(t.Context(), "testdata/hello.pdf", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := doc.Pages[0].Blocks
	// groff sets the text at a 1 inch margin from the top-left corner.
	if x := b[0].BBox.X0; x < 71 || x > 73 {
		t.Errorf("title starts at x=%v, want about 72", x)
	}
	if y := b[0].BBox.Y0; y < 60 || y > 80 {
		t.Errorf("title starts at y=%v, want near the top (about 72)", y)
	}
	for i := 1; i < len(b); i++ {
		if b[i].BBox.Y0 <= b[i-1].BBox.Y1 {
			t.Errorf("block %d (y0=%v) does not start below block %d (y1=%v)", i, b[i].BBox.Y0, i-1, b[i-1].BBox.Y1)
		}
	}
}

func TestExtractPDFErrors(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name  string
		file  string
		pages []int
		want  error
		msg   string
	}{
		{name: "corrupt", file: "corrupt.pdf", want: ErrCorrupt},
		{name: "encrypted", file: "encrypted.pdf", want: ErrEncrypted},
		{name: "page out of range", file: "pages.pdf", pages: []int{4}, msg: "page 4 is out of range"},
		{name: "page zero", file: "pages.pdf", pages: []int{0}, msg: "page 0 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.ExtractPDF(t.Context(), "testdata/"+tt.file, tt.pages, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func TestExtractPDFCancelBetweenPages(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	_, err := testEngine(t).ExtractPDF(ctx, "testdata/pages.pdf", nil, func(done int) {
		calls++
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("progress called %d times after cancelling on the first page, want 1", calls)
	}
}

// TestExtractPDFCancelRunning cancels a long extraction (the three pages
// requested over and over) from outside and requires it to stop well within
// the 2 s a running job is allowed, on both engine kinds. The engine must
// still work afterwards.
func TestExtractPDFCancelRunning(t *testing.T) {
	long := make([]int, 3000)
	for i := range long {
		long[i] = i%3 + 1
	}
	for _, cfg := range []PDFConfig{{MaxTotal: 4}, {MaxTotal: 2, Interruptible: true}} {
		t.Run(fmt.Sprintf("interruptible=%v", cfg.Interruptible), func(t *testing.T) {
			if cfg.Interruptible && testing.Short() {
				t.Skip("compiles PDFium a second time")
			}
			e := sharedEngine(t, cfg)
			for _, after := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond} {
				ctx, cancel := context.WithCancel(t.Context())
				var done int
				time.AfterFunc(after, cancel)
				start := time.Now()
				_, err := e.ExtractPDF(ctx, "testdata/pages.pdf", long, func(n int) { done = n })
				took := time.Since(start) - after
				cancel()
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("cancel after %v: error = %v (%d pages done), want context.Canceled", after, err, done)
				}
				if took > 500*time.Millisecond {
					t.Errorf("cancel after %v: stopped %v after the cancel, want well under 2s", after, took)
				}
			}
			doc, err := e.ExtractPDF(t.Context(), "testdata/hello.pdf", nil, nil)
			if err != nil || fmt.Sprint(summarize(doc.Pages[0])) != fmt.Sprint(helloBlocks) {
				t.Errorf("after cancellations: %v, %v", err, doc)
			}
		})
	}
}

func TestExtractPDFConcurrent(t *testing.T) {
	e := testEngine(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			file := []string{"hello.pdf", "columns.pdf", "pages.pdf", "rotated.pdf"}[i%4]
			if _, err := e.ExtractPDF(t.Context(), "testdata/"+file, nil, nil); err != nil {
				errs <- fmt.Errorf("%s: %w", file, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
