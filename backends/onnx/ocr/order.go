package ocr

import (
	"cmp"
	"slices"
)

// readingOrder returns the indexes of boxes in reading order: columns left
// to right, each top to bottom, with boxes that span a column gutter (titles,
// full-width paragraphs) acting as separators between bands of columns.
func readingOrder(boxes []Rect) []int {
	idx := make([]int, len(boxes))
	for i := range idx {
		idx[i] = i
	}
	return orderRegion(boxes, idx)
}

func orderRegion(boxes []Rect, idx []int) []int {
	lo, hi, ok := findGutter(boxes, idx)
	if !ok {
		return rowOrder(boxes, idx)
	}
	mid := (lo + hi) / 2
	var spans, rest []int
	for _, i := range idx {
		if boxes[i].MinX < mid && boxes[i].MaxX > mid {
			spans = append(spans, i)
		} else {
			rest = append(rest, i)
		}
	}
	cy := func(i int) float64 { return (boxes[i].MinY + boxes[i].MaxY) / 2 }
	slices.SortFunc(spans, func(a, b int) int { return cmp.Compare(cy(a), cy(b)) })
	slices.SortFunc(rest, func(a, b int) int { return cmp.Compare(cy(a), cy(b)) })
	out := make([]int, 0, len(idx))
	k := 0
	for s := 0; s <= len(spans); s++ {
		var left, right []int
		for ; k < len(rest) && (s == len(spans) || cy(rest[k]) < cy(spans[s])); k++ {
			i := rest[k]
			if (boxes[i].MinX+boxes[i].MaxX)/2 < mid {
				left = append(left, i)
			} else {
				right = append(right, i)
			}
		}
		out = append(out, orderRegion(boxes, left)...)
		out = append(out, orderRegion(boxes, right)...)
		if s < len(spans) {
			out = append(out, spans[s])
		}
	}
	return out
}

// findGutter returns the widest vertical strip at least 0.8 text line
// heights wide with at least two boxes wholly on each side, crossed by at
// most half as many boxes as lie on the thinner side (titles and full-width
// paragraphs cross a gutter; they must not hide it).
func findGutter(boxes []Rect, idx []int) (lo, hi float64, ok bool) {
	if len(idx) < 4 {
		return 0, 0, false
	}
	x0, x1 := boxes[idx[0]].MinX, boxes[idx[0]].MaxX
	heights := make([]float64, 0, len(idx))
	for _, i := range idx {
		x0, x1 = min(x0, boxes[i].MinX), max(x1, boxes[i].MaxX)
		heights = append(heights, boxes[i].MaxY-boxes[i].MinY)
	}
	slices.Sort(heights)
	minGap := max(0.8*heights[len(heights)/2], 8)
	w := int(x1-x0) + 2
	diff := make([]int, w+1)
	for _, i := range idx {
		a, b := int(boxes[i].MinX-x0), int(boxes[i].MaxX-x0)+1
		diff[a]++
		diff[b]--
	}
	// Try the cleanest strips first: a strip crossed by one title must not
	// grow into the ragged ends of the lines beside it.
	for allowed := 0; allowed <= len(idx)/4; allowed++ {
		if lo, hi, ok = widestRun(boxes, idx, diff, x0, allowed, minGap); ok {
			return lo, hi, true
		}
	}
	return 0, 0, false
}

// widestRun scans the box coverage counts (as differences in diff, from
// x0) for the widest run crossed by at most allowed boxes that makes a
// gutter; runs touching either edge do not count.
func widestRun(boxes []Rect, idx []int, diff []int, x0 float64, allowed int, minGap float64) (lo, hi float64, ok bool) {
	w := len(diff) - 1
	best := 0.0
	count, runStart := 0, -1
	for x := 0; x <= w; x++ {
		if x < w {
			count += diff[x]
		}
		if x < w && count <= allowed {
			if runStart < 0 {
				runStart = x
			}
			continue
		}
		if runStart > 0 && x < w {
			a, b := x0+float64(runStart), x0+float64(x)
			if b-a >= minGap && b-a > best && isGutter(boxes, idx, a, b) {
				lo, hi, best, ok = a, b, b-a, true
			}
		}
		runStart = -1
	}
	return lo, hi, ok
}

// isGutter reports whether the strip [a, b] has at least two boxes wholly on
// each side and at most half as many crossing it as on the thinner side.
func isGutter(boxes []Rect, idx []int, a, b float64) bool {
	var l, r, cross int
	for _, i := range idx {
		switch {
		case boxes[i].MaxX <= a:
			l++
		case boxes[i].MinX >= b:
			r++
		default:
			cross++
		}
	}
	return l >= 2 && r >= 2 && 2*cross <= min(l, r)
}

// rowOrder sorts boxes top to bottom, and left to right within a row: boxes
// whose vertical extents overlap by more than half the smaller height share
// a row.
func rowOrder(boxes []Rect, idx []int) []int {
	out := slices.Clone(idx)
	slices.SortStableFunc(out, func(a, b int) int { return cmp.Compare(boxes[a].MinY+boxes[a].MaxY, boxes[b].MinY+boxes[b].MaxY) })
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && sameRow(boxes[out[start]], boxes[out[end]]) {
			end++
		}
		slices.SortStableFunc(out[start:end], func(a, b int) int { return cmp.Compare(boxes[a].MinX, boxes[b].MinX) })
		start = end
	}
	return out
}

func sameRow(a, b Rect) bool {
	overlap := min(a.MaxY, b.MaxY) - max(a.MinY, b.MinY)
	return overlap > 0.5*min(a.MaxY-a.MinY, b.MaxY-b.MinY)
}
