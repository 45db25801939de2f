package worker

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/plugins"
	"github.com/docstrange/mesh/scheduler"
)

// OCR is where page images are read: a backend plugin, normally the host's
// routed view of the ONNX backend, which survives restarts and swaps.
type OCR struct {
	// Backend runs ocr.recognize.
	Backend plugins.Backend
	// Name labels the result's backend field.
	Name string
}

// recognize reads one page image. scale converts image pixels to the page's
// units (points for PDF pages, 1 for images, whose unit is the pixel).
func (o *OCR) recognize(ctx context.Context, img image.Image, scale float64, langs []string) ([]scheduler.Block, error) {
	req := &plugins.ProcessRequest{
		Task:    plugins.TaskOCRRecognize,
		Items:   []plugins.Item{{ID: "page", Image: plugins.WireImage(img)}},
		Options: plugins.Options{Languages: langs},
	}
	var lines []plugins.Line
	err := o.Backend.Process(ctx, req, func(r plugins.ItemResult) error {
		if r.Err != nil {
			return r.Err
		}
		lines = append(lines, r.Lines...)
		return nil
	})
	var itemErr *plugins.ItemError
	switch {
	case errors.As(err, &itemErr) && itemErr.Code == plugins.CodeInvalidImage:
		return nil, &scheduler.JobError{Code: api.CodeUnprocessableDocument, Message: "the OCR backend refused the page image: " + itemErr.Message}
	case err != nil:
		return nil, fmt.Errorf("running OCR: %w", err)
	}
	return linesToBlocks(lines, scale), nil
}

// linesToBlocks groups OCR lines, which arrive in reading order, into
// blocks. A line continues the block above when it sits under the previous
// line with less than paragraphGap of its height between them, overlaps it
// horizontally and has about the same text size; a block whose lines are
// clearly taller than the page's median line is a heading.
func linesToBlocks(lines []plugins.Line, scale float64) []scheduler.Block {
	var heights []float64
	for _, l := range lines {
		if l.Text != "" {
			b := quadBox(l.Box, scale)
			heights = append(heights, b.Y1-b.Y0)
		}
	}
	if len(heights) == 0 {
		return nil
	}
	slices.Sort(heights)
	median := heights[len(heights)/2]

	var blocks []scheduler.Block
	var last *scheduler.BBox
	var confSum, heightSum float64
	var n int
	flush := func() {
		if n == 0 {
			return
		}
		b := &blocks[len(blocks)-1]
		b.Confidence = round3(confSum / float64(n))
		if h := heightSum / float64(n); h > headingRatio*median {
			b.Type, b.Level = scheduler.BlockHeading, 1
			if h < 1.5*median {
				b.Level = 2
			}
		}
		confSum, heightSum, n = 0, 0, 0
	}
	for _, l := range lines {
		if l.Text == "" {
			continue
		}
		box := quadBox(l.Box, scale)
		if last != nil && continues(last, box) {
			b := &blocks[len(blocks)-1]
			b.Text += " " + l.Text
			b.BBox = union(b.BBox, box)
		} else {
			flush()
			blocks = append(blocks, scheduler.Block{Type: scheduler.BlockText, Text: l.Text, BBox: box, Source: scheduler.SourceOCR})
		}
		last = box
		heightSum += box.Y1 - box.Y0
		confSum += float64(l.Confidence)
		n++
	}
	flush()
	return blocks
}

// Layout thresholds, in line heights.
const (
	paragraphGap = 0.7
	// headingRatio is low because detection boxes are padded, which
	// shrinks the ratio of a 20pt title to 11pt body text to about 1.3.
	headingRatio = 1.2
	sizeJump     = 1.25
)

func continues(prev, next *scheduler.BBox) bool {
	hp, hn := prev.Y1-prev.Y0, next.Y1-next.Y0
	gap := next.Y0 - prev.Y1
	overlap := min(prev.X1, next.X1) - max(prev.X0, next.X0)
	sameSize := max(hp, hn) <= sizeJump*min(hp, hn)
	return gap > -min(hp, hn)/2 && gap < paragraphGap*min(hp, hn) && overlap > 0 && sameSize
}

func quadBox(q plugins.Quad, scale float64) *scheduler.BBox {
	xs := []float32{q[0].X, q[1].X, q[2].X, q[3].X}
	ys := []float32{q[0].Y, q[1].Y, q[2].Y, q[3].Y}
	return &scheduler.BBox{
		X0: round2(float64(slices.Min(xs)) * scale), Y0: round2(float64(slices.Min(ys)) * scale),
		X1: round2(float64(slices.Max(xs)) * scale), Y1: round2(float64(slices.Max(ys)) * scale),
	}
}

func union(a, b *scheduler.BBox) *scheduler.BBox {
	return &scheduler.BBox{X0: min(a.X0, b.X0), Y0: min(a.Y0, b.Y0), X1: max(a.X1, b.X1), Y1: max(a.Y1, b.Y1)}
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
