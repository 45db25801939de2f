package extract

import "slices"

// Column detection tuning.
const (
	// gutterSearch: only gutters whose middle lies in the central part of
	// the text block, this fraction in from either side, are considered.
	gutterSearch = 0.2
	// maxSpanning: at most this fraction of segments may cross a gutter
	// (titles, full-width figures captions, footers).
	maxSpanning = 0.25
	// minColumnShare: each side of a gutter must be at least this fraction
	// of the text's width. A key-value list has a narrow left side.
	minColumnShare = 0.25
	// fillRatio: in real columns most lines of the left side run up to the
	// gutter; in a list of labels they stop short. The median right edge of
	// the left side must be within this fraction of its width from the
	// gutter.
	fillRatio = 0.2
	// maxColumnDepth bounds the recursion, so three or four columns work.
	maxColumnDepth = 3
)

// readingOrder sorts segments into groups read one after the other: bands
// separated by segments that span the gutter, and within a band the left
// columns before the right ones. Each group is a column piece, top to
// bottom.
func readingOrder(segs []*line, depth int) [][]*line {
	if len(segs) == 0 {
		return nil
	}
	g0, g1, ok := findGutter(segs)
	if !ok || depth >= maxColumnDepth {
		return [][]*line{segs}
	}
	var spanning []*line
	for _, s := range segs {
		if s.box.x1 > g0 && s.box.x0 < g1 {
			spanning = append(spanning, s)
		}
	}
	slices.SortFunc(spanning, func(a, b *line) int { return cmpFloat(a.box.cy(), b.box.cy()) })
	// Band i holds the column segments above spanning[i].
	bands := make([][2][]*line, len(spanning)+1)
	for _, s := range segs {
		if s.box.x1 > g0 && s.box.x0 < g1 {
			continue
		}
		i, _ := slices.BinarySearchFunc(spanning, s.box.cy(), func(sp *line, y float64) int { return cmpFloat(sp.box.cy(), y) })
		side := 0
		if s.box.x0 >= g1 {
			side = 1
		}
		bands[i][side] = append(bands[i][side], s)
	}
	var out [][]*line
	for i, band := range bands {
		out = append(out, readingOrder(band[0], depth+1)...)
		out = append(out, readingOrder(band[1], depth+1)...)
		if i < len(spanning) {
			out = append(out, []*line{spanning[i]})
		}
	}
	return out
}

// findGutter looks for a vertical strip in the middle of the segments that
// few of them cross, with real columns on both sides. Candidates are the
// gaps between segment edges, tried fewest crossings first, widest first.
func findGutter(segs []*line) (g0, g1 float64, ok bool) {
	if len(segs) < 4 {
		return 0, 0, false
	}
	lo, hi := segs[0].box.x0, segs[0].box.x1
	var xs []float64
	var sizes []weighted
	for _, s := range segs {
		lo, hi = min(lo, s.box.x0), max(hi, s.box.x1)
		xs = append(xs, s.box.x0, s.box.x1)
		sizes = append(sizes, weighted{s.size(), 1})
	}
	em := weightedMedian(sizes)
	from, to := lo+gutterSearch*(hi-lo), hi-gutterSearch*(hi-lo)
	slices.Sort(xs)
	xs = slices.Compact(xs)

	type candidate struct {
		g0, g1 float64
		cross  int
	}
	var cands []candidate
	for i := 1; i < len(xs); i++ {
		a, b := xs[i-1], xs[i]
		mid := (a + b) / 2
		if mid < from || mid > to || b-a < 0.8*em {
			continue
		}
		cross := 0
		for _, s := range segs {
			if s.box.x0 < mid && s.box.x1 > mid {
				cross++
			}
		}
		if float64(cross) <= maxSpanning*float64(len(segs)) {
			cands = append(cands, candidate{a, b, cross})
		}
	}
	slices.SortFunc(cands, func(p, q candidate) int {
		if p.cross != q.cross {
			return p.cross - q.cross
		}
		return cmpFloat(q.g1-q.g0, p.g1-p.g0)
	})
	for _, c := range cands {
		if isGutter(segs, c.g0, c.g1, lo, hi) {
			return c.g0, c.g1, true
		}
	}
	return 0, 0, false
}

// isGutter checks that [g0, g1] has columns on both sides: two or more
// segments each, each side a fair share of the width, and the left side's
// lines mostly running up to the gutter.
func isGutter(segs []*line, g0, g1, lo, hi float64) bool {
	var leftEdges []float64
	var nRight int
	leftX0, rightX1 := hi, lo
	for _, s := range segs {
		switch {
		case s.box.x1 <= g0:
			leftEdges = append(leftEdges, s.box.x1)
			leftX0 = min(leftX0, s.box.x0)
		case s.box.x0 >= g1:
			nRight++
			rightX1 = max(rightX1, s.box.x1)
		}
	}
	if len(leftEdges) < 2 || nRight < 2 {
		return false
	}
	if share := minColumnShare * (hi - lo); g0-leftX0 < share || rightX1-g1 < share {
		return false
	}
	slices.Sort(leftEdges)
	return g0-leftEdges[len(leftEdges)/2] <= fillRatio*(g0-leftX0)
}
