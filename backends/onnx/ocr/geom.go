package ocr

import (
	"math"
	"slices"
)

// Point is a position in image pixels.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

func (p Point) sub(q Point) Point     { return Point{p.X - q.X, p.Y - q.Y} }
func (p Point) add(q Point) Point     { return Point{p.X + q.X, p.Y + q.Y} }
func (p Point) scale(f float64) Point { return Point{p.X * f, p.Y * f} }
func (p Point) dist(q Point) float64  { return math.Hypot(p.X-q.X, p.Y-q.Y) }

func cross(o, a, b Point) float64 {
	return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X)
}

// Quad is a quadrilateral in clockwise order starting top-left: top-left,
// top-right, bottom-right, bottom-left.
type Quad [4]Point

// Rect is an axis-aligned box in image pixels.
type Rect struct {
	MinX float64 `json:"min_x"`
	MinY float64 `json:"min_y"`
	MaxX float64 `json:"max_x"`
	MaxY float64 `json:"max_y"`
}

// Bounds returns the axis-aligned box around q.
func (q Quad) Bounds() Rect {
	r := Rect{q[0].X, q[0].Y, q[0].X, q[0].Y}
	for _, p := range q[1:] {
		r.MinX, r.MinY = min(r.MinX, p.X), min(r.MinY, p.Y)
		r.MaxX, r.MaxY = max(r.MaxX, p.X), max(r.MaxY, p.Y)
	}
	return r
}

// convexHull returns the hull of pts counter-clockwise (in y-down image
// coordinates, clockwise on screen) by Andrew's monotone chain.
func convexHull(pts []Point) []Point {
	slices.SortFunc(pts, func(a, b Point) int {
		if a.X != b.X {
			if a.X < b.X {
				return -1
			}
			return 1
		}
		switch {
		case a.Y < b.Y:
			return -1
		case a.Y > b.Y:
			return 1
		}
		return 0
	})
	pts = slices.Compact(pts)
	if len(pts) < 3 {
		return pts
	}
	hull := make([]Point, 0, 2*len(pts))
	for _, p := range pts {
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	lower := len(hull) + 1
	for i := len(pts) - 2; i >= 0; i-- {
		p := pts[i]
		for len(hull) >= lower && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	return hull[:len(hull)-1]
}

// rotRect is a rotated rectangle: centre, unit axis u (v is u turned 90°)
// and the side lengths along u and v.
type rotRect struct {
	c    Point
	u    Point
	w, h float64
}

// minAreaRect returns the smallest rectangle around the hull, trying every
// hull edge direction (rotating calipers without the bookkeeping: hulls of
// text components are small).
func minAreaRect(hull []Point) rotRect {
	best := rotRect{w: math.Inf(1), h: 1}
	if len(hull) == 1 {
		return rotRect{c: hull[0], u: Point{1, 0}}
	}
	for i := range hull {
		e := hull[(i+1)%len(hull)].sub(hull[i])
		n := math.Hypot(e.X, e.Y)
		if n == 0 {
			continue
		}
		u := e.scale(1 / n)
		minU, maxU, minV, maxV := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, p := range hull {
			a := p.X*u.X + p.Y*u.Y
			b := -p.X*u.Y + p.Y*u.X
			minU, maxU = min(minU, a), max(maxU, a)
			minV, maxV = min(minV, b), max(maxV, b)
		}
		w, h := maxU-minU, maxV-minV
		if w*h < best.w*best.h {
			cu, cv := (minU+maxU)/2, (minV+maxV)/2
			best = rotRect{c: Point{cu*u.X - cv*u.Y, cu*u.Y + cv*u.X}, u: u, w: w, h: h}
		}
	}
	return best
}

// grow returns r with d added on every side.
func (r rotRect) grow(d float64) rotRect {
	r.w += 2 * d
	r.h += 2 * d
	return r
}

// quad returns the corners ordered as PaddleOCR's get_mini_boxes does: the
// two leftmost points give top-left and bottom-left, the two rightmost
// top-right and bottom-right.
func (r rotRect) quad() Quad {
	v := Point{-r.u.Y, r.u.X}
	hu, hv := r.u.scale(r.w/2), v.scale(r.h/2)
	pts := []Point{
		r.c.sub(hu).sub(hv), r.c.add(hu).sub(hv),
		r.c.add(hu).add(hv), r.c.sub(hu).add(hv),
	}
	slices.SortStableFunc(pts, func(a, b Point) int {
		switch {
		case a.X < b.X:
			return -1
		case a.X > b.X:
			return 1
		}
		return 0
	})
	tl, bl := pts[0], pts[1]
	if bl.Y < tl.Y {
		tl, bl = bl, tl
	}
	tr, br := pts[2], pts[3]
	if br.Y < tr.Y {
		tr, br = br, tr
	}
	return Quad{tl, tr, br, bl}
}

// contains reports whether p lies inside the convex quad q (either winding),
// boundary included.
func (q Quad) contains(p Point) bool {
	var pos, neg bool
	for i := range 4 {
		c := cross(q[i], q[(i+1)%4], p)
		pos = pos || c > 1e-9
		neg = neg || c < -1e-9
	}
	return !(pos && neg)
}
