package extract

import (
	"math"
	"slices"
	"unicode/utf8"

	"github.com/docstrange/mesh/scheduler"
)

// Heading detection tuning.
const (
	// headingRatio: a block is a heading when its size is at least this
	// times the document's body size ("clearly larger")...
	headingRatio = 1.2
	// ...and it is short: headings are titles, not large-print paragraphs.
	headingMaxRunes = 200
	headingMaxLines = 3
	// maxHeadingLevel is the deepest level Markdown and HTML can express.
	maxHeadingLevel = 6
)

// headingScale assigns heading levels by size across the whole document, so
// that a size means the same level on every page.
type headingScale struct {
	body  float64
	sizes []float64 // distinct heading sizes, largest first
}

// headingLevels measures the body size (the character-weighted median size
// of all blocks) and ranks the sizes of the heading candidates.
func headingLevels(pages [][]textBlock) headingScale {
	var ws []weighted
	for _, blocks := range pages {
		for _, b := range blocks {
			ws = append(ws, weighted{b.size, utf8.RuneCountInString(b.text)})
		}
	}
	h := headingScale{body: weightedMedian(ws)}
	for _, blocks := range pages {
		for _, b := range blocks {
			if h.isHeading(b) {
				h.sizes = append(h.sizes, roundHalf(b.size))
			}
		}
	}
	slices.SortFunc(h.sizes, func(a, b float64) int { return cmpFloat(b, a) })
	h.sizes = slices.Compact(h.sizes)
	return h
}

func (h headingScale) isHeading(b textBlock) bool {
	return h.body > 0 && b.size >= headingRatio*h.body &&
		b.lines <= headingMaxLines && utf8.RuneCountInString(b.text) <= headingMaxRunes
}

// level is 1 for the largest heading size, 0 for body text.
func (h headingScale) level(b textBlock) int {
	if !h.isHeading(b) {
		return 0
	}
	i := slices.Index(h.sizes, roundHalf(b.size))
	return min(i+1, maxHeadingLevel)
}

// toBlocks converts a page's blocks to the result type.
func toBlocks(blocks []textBlock, h headingScale) []scheduler.Block {
	out := make([]scheduler.Block, 0, len(blocks))
	for _, b := range blocks {
		blk := scheduler.Block{
			Type:       scheduler.BlockText,
			Text:       b.text,
			BBox:       b.box.bbox(),
			Confidence: 1,
			Source:     scheduler.SourceTextLayer,
		}
		if lvl := h.level(b); lvl > 0 {
			blk.Type, blk.Level = scheduler.BlockHeading, lvl
		}
		out = append(out, blk)
	}
	return out
}

// roundHalf rounds to half a point, so sizes that differ only by rounding
// in the PDF share a level.
func roundHalf(v float64) float64 { return math.Round(v*2) / 2 }
