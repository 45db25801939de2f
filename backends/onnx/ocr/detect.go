package ocr

import (
	"context"
	"fmt"
	"math"

	"github.com/docstrange/mesh/backends/onnx/manifest"
	"github.com/docstrange/mesh/backends/onnx/ort"
)

// maxCandidates bounds the components examined per page, as PaddleOCR's
// DBPostProcess does.
const maxCandidates = 1000

// detector runs the DB text detector: a probability map of "inside a text
// kernel", binarised, split into connected components, each turned into a
// rotated box and grown back ("unclipped") to the full text extent.
type detector struct {
	sess  *ort.Session
	input manifest.Input
	p     manifest.Detect
}

// inputSize returns the size a w×h image is resized to for the detector:
// the longer side at most limit, both sides rounded to multiples of the
// stride (never below one stride), like DetResizeForTest with limit_type
// "max".
func (d *detector) inputSize(w, h, limit int) (int, int) {
	ratio := 1.0
	if m := max(w, h); m > limit {
		ratio = float64(limit) / float64(m)
	}
	s := float64(d.p.Stride)
	rw := max(int(math.Round(float64(int(float64(w)*ratio))/s)*s), d.p.Stride)
	rh := max(int(math.Round(float64(int(float64(h)*ratio))/s)*s), d.p.Stride)
	return rw, rh
}

// detect returns text boxes in r's pixel coordinates, unordered.
func (d *detector) detect(ctx context.Context, r *raster, limit int) ([]Quad, error) {
	rw, rh := d.inputSize(r.w, r.h, limit)
	in := r.resize(rw, rh)
	data := make([]float32, 3*rw*rh)
	in.normalizeInto(data, rw, d.input.Scale, d.input.Mean, d.input.Std)
	out, err := d.sess.Run(ctx, ort.Tensor{Shape: []int64{1, 3, int64(rh), int64(rw)}, Data: data})
	if err != nil {
		return nil, fmt.Errorf("detecting text: %w", err)
	}
	pm := probMap{w: rw, h: rh, p: out[0].Data}
	if len(pm.p) != rw*rh {
		return nil, fmt.Errorf("detecting text: probability map shape %v for input %dx%d", out[0].Shape, rw, rh)
	}
	boxes := d.boxes(pm)
	sx, sy := float64(r.w)/float64(rw), float64(r.h)/float64(rh)
	for i := range boxes {
		for j := range boxes[i] {
			p := &boxes[i][j]
			p.X = math.Min(math.Max(math.Round(p.X*sx), 0), float64(r.w))
			p.Y = math.Min(math.Max(math.Round(p.Y*sy), 0), float64(r.h))
		}
	}
	kept := boxes[:0]
	for _, q := range boxes {
		if q[0].dist(q[1]) > 3 && q[0].dist(q[3]) > 3 {
			kept = append(kept, q)
		}
	}
	return kept, nil
}

// probMap is the detector output, one probability per input pixel.
type probMap struct {
	w, h int
	p    []float32
}

// boxes turns the probability map into text boxes in map coordinates.
func (d *detector) boxes(pm probMap) []Quad {
	var out []Quad
	for _, hull := range components(pm, d.p.Thresh) {
		if len(out) >= maxCandidates {
			break
		}
		rr := minAreaRect(hull)
		if min(rr.w, rr.h) < d.p.MinSize {
			continue
		}
		q := rr.quad()
		if pm.score(q) < d.p.BoxThresh {
			continue
		}
		// Unclip: the DB kernel was shrunk by area*(1-r²)/perimeter in
		// training; offsetting the box by area*ratio/perimeter restores it.
		// The min-area rectangle of a rectangle offset with round joins is
		// the rectangle grown by the same distance.
		dist := rr.w * rr.h * d.p.UnclipRatio / (2 * (rr.w + rr.h))
		rr = rr.grow(dist)
		if min(rr.w, rr.h) < d.p.MinSize+2 {
			continue
		}
		out = append(out, rr.quad())
	}
	return out
}

// score is the mean probability inside q ("fast" score mode).
func (pm probMap) score(q Quad) float32 {
	b := q.Bounds()
	x0, x1 := clampInt(int(math.Floor(b.MinX)), 0, pm.w-1), clampInt(int(math.Ceil(b.MaxX)), 0, pm.w-1)
	y0, y1 := clampInt(int(math.Floor(b.MinY)), 0, pm.h-1), clampInt(int(math.Ceil(b.MaxY)), 0, pm.h-1)
	var sum float64
	var n int
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			if q.contains(Point{float64(x), float64(y)}) {
				sum += float64(pm.p[y*pm.w+x])
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float32(sum / float64(n))
}

func clampInt(v, lo, hi int) int { return min(max(v, lo), hi) }

// components labels the 8-connected regions of p > thresh and returns the
// convex hull of each, in discovery order (top to bottom). Only each row's
// leftmost and rightmost pixels feed the hull: the others are inside it.
func components(pm probMap, thresh float32) [][]Point {
	label := make([]int32, pm.w*pm.h)
	var hulls [][]Point
	var stack []int
	type span struct{ lo, hi int }
	for start, v := range pm.p {
		if v <= thresh || label[start] != 0 {
			continue
		}
		id := int32(len(hulls) + 1)
		rows := map[int]span{}
		label[start] = id
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := i%pm.w, i/pm.w
			if s, ok := rows[y]; ok {
				rows[y] = span{min(s.lo, x), max(s.hi, x)}
			} else {
				rows[y] = span{x, x}
			}
			for dy := -1; dy <= 1; dy++ {
				ny := y + dy
				if ny < 0 || ny >= pm.h {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					nx := x + dx
					if nx < 0 || nx >= pm.w {
						continue
					}
					j := ny*pm.w + nx
					if label[j] == 0 && pm.p[j] > thresh {
						label[j] = id
						stack = append(stack, j)
					}
				}
			}
		}
		pts := make([]Point, 0, 2*len(rows))
		for y, s := range rows {
			pts = append(pts, Point{float64(s.lo), float64(y)}, Point{float64(s.hi), float64(y)})
		}
		hulls = append(hulls, convexHull(pts))
	}
	return hulls
}
