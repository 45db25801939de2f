package extract

import (
	"math"

	"github.com/docstrange/mesh/scheduler"
)

// rect is an axis-aligned box, origin top-left, y growing downwards.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) w() float64  { return r.x1 - r.x0 }
func (r rect) h() float64  { return r.y1 - r.y0 }
func (r rect) cy() float64 { return (r.y0 + r.y1) / 2 }

func (r rect) union(o rect) rect {
	return rect{min(r.x0, o.x0), min(r.y0, o.y0), max(r.x1, o.x1), max(r.y1, o.y1)}
}

// sameRow reports whether a and b overlap vertically by at least half the
// height of the shorter one, which is how glyphs of one baseline look even
// with superscripts and mixed sizes.
func sameRow(a, b rect) bool {
	ov := min(a.y1, b.y1) - max(a.y0, b.y0)
	return ov > 0 && ov >= 0.5*min(a.h(), b.h())
}

// xOverlap reports whether a and b share some horizontal extent.
func xOverlap(a, b rect) bool { return min(a.x1, b.x1) > max(a.x0, b.x0) }

// turn rotates r clockwise by n quarter turns within a w×h page and returns
// the box together with the page size after the turn.
func turn(r rect, w, h float64, n int) (rect, float64, float64) {
	for range ((n % 4) + 4) % 4 {
		// (x, y) -> (h-y, x): the top-left corner goes to the top right.
		r = rect{h - r.y1, r.x0, h - r.y0, r.x1}
		w, h = h, w
	}
	return r, w, h
}

// quarterTurns quantises the direction (dx, dy), y down, to the number of
// clockwise quarter turns from left-to-right.
func quarterTurns(dx, dy float64) int {
	if dx == 0 && dy == 0 {
		return 0
	}
	return ((int(math.Round(math.Atan2(dy, dx)/(math.Pi/2))) % 4) + 4) % 4
}

// bbox converts r to the result type, rounded to 1/100 pt.
func (r rect) bbox() *scheduler.BBox {
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	return &scheduler.BBox{X0: round(r.x0), Y0: round(r.y0), X1: round(r.x1), Y1: round(r.y1)}
}
