package ocr

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// resizeBySample is resize as the definition reads: sample at every
// output pixel and channel.
func resizeBySample(r *raster, w, h int) *raster {
	out := &raster{w: w, h: h, pix: make([]uint8, 3*w*h)}
	sx, sy := float64(r.w)/float64(w), float64(r.h)/float64(h)
	for y := range h {
		fy := (float64(y)+0.5)*sy - 0.5
		for x := range w {
			fx := (float64(x)+0.5)*sx - 0.5
			for c := range 3 {
				out.pix[3*(y*w+x)+c] = uint8(r.sample(fx, fy, c) + 0.5)
			}
		}
	}
	return out
}

func randomRaster(rng *rand.Rand, w, h int, gray bool) *raster {
	r := &raster{w: w, h: h, pix: make([]uint8, 3*w*h), gray: gray}
	for i := 0; i < len(r.pix); i += 3 {
		if gray {
			v := uint8(rng.IntN(256))
			r.pix[i], r.pix[i+1], r.pix[i+2] = v, v, v
			continue
		}
		r.pix[i], r.pix[i+1], r.pix[i+2] = uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))
	}
	return r
}

// TestResizeMatchesSample: the precomputed resize gives sample's pixels
// bit for bit, shrinking and growing, one pixel wide included, in colour
// and through the gray path, and a gray raster stays marked gray.
func TestResizeMatchesSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	tests := []struct {
		name         string
		w, h, ow, oh int
	}{
		{name: "page to detector", w: 124, h: 175, ow: 64, oh: 96},
		{name: "line to recogniser", w: 90, h: 13, ow: 333, oh: 48},
		{name: "one pixel", w: 1, h: 1, ow: 5, oh: 3},
		{name: "to one pixel", w: 17, h: 9, ow: 1, oh: 1},
	}
	for _, tt := range tests {
		for _, gray := range []bool{false, true} {
			r := randomRaster(rng, tt.w, tt.h, gray)
			got, want := r.resize(tt.ow, tt.oh), resizeBySample(r, tt.ow, tt.oh)
			if !bytes.Equal(got.pix, want.pix) {
				t.Errorf("%s, gray %v: resize differs from sampling", tt.name, gray)
			}
			if got.gray != gray {
				t.Errorf("%s: gray %v after resize, want %v", tt.name, got.gray, gray)
			}
		}
	}
}

// TestCropGray: a gray raster's crop through the one-channel path equals
// the colour path's, and stays marked gray through a 90° turn.
func TestCropGray(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	r := randomRaster(rng, 60, 40, true)
	color := *r
	color.gray = false
	for _, q := range []Quad{
		{{X: 3.5, Y: 4}, {X: 50, Y: 6.2}, {X: 49, Y: 20}, {X: 3, Y: 18.5}},
		{{X: 10, Y: 2}, {X: 16, Y: 2}, {X: 16, Y: 38}, {X: 10, Y: 38}},
	} {
		got, want := crop(r, q), crop(&color, q)
		if !bytes.Equal(got.pix, want.pix) || got.w != want.w || got.h != want.h {
			t.Errorf("quad %v: gray crop differs from the colour crop", q)
		}
		if !got.gray {
			t.Errorf("quad %v: crop of a gray raster not marked gray", q)
		}
	}
}

// TestNormalizeInto: every channel of every pixel lands in its plane as
// (pixel*scale - mean) / std, and the padding columns are left alone.
func TestNormalizeInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	r := randomRaster(rng, 7, 5, false)
	const stride = 9
	dst := make([]float32, 3*5*stride)
	for i := range dst {
		dst[i] = -99
	}
	scale, mean, std := float32(1.0/255), [3]float32{0.485, 0.456, 0.406}, [3]float32{0.229, 0.224, 0.225}
	r.normalizeInto(dst, stride, scale, mean, std)
	for c := range 3 {
		for y := range 5 {
			for x := range stride {
				got := dst[c*5*stride+y*stride+x]
				want := float32(-99)
				if x < 7 {
					want = (float32(r.pix[3*(y*7+x)+c])*scale - mean[c]) * (1 / std[c])
				}
				if got != want {
					t.Fatalf("channel %d (%d, %d): %v, want %v", c, x, y, got, want)
				}
			}
		}
	}
}
