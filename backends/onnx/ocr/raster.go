package ocr

import (
	"image"
	"image/draw"
	"math"
)

// raster is an 8-bit, 3-channel image in BGR order, interleaved, the layout
// PaddleOCR's models were trained on (images read by OpenCV).
type raster struct {
	w, h int
	pix  []uint8
	// gray is set when every pixel has equal channels, which lets resize
	// and crop interpolate one channel and copy it.
	gray bool
}

// toRaster converts any image to BGR, with fast paths for the common types.
func toRaster(img image.Image) *raster {
	b := img.Bounds()
	r := &raster{w: b.Dx(), h: b.Dy(), pix: make([]uint8, 3*b.Dx()*b.Dy())}
	switch src := img.(type) {
	case *image.Gray:
		r.gray = true
		for y := 0; y < r.h; y++ {
			row := src.Pix[(y)*src.Stride : (y)*src.Stride+r.w]
			for x, v := range row {
				i := 3 * (y*r.w + x)
				r.pix[i], r.pix[i+1], r.pix[i+2] = v, v, v
			}
		}
		return r
	case *image.RGBA:
		r.fromRGBA(src)
		return r
	}
	rgba := image.NewRGBA(image.Rect(0, 0, r.w, r.h))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	r.fromRGBA(rgba)
	return r
}

// fromRGBA composites premultiplied pixels over white, since a transparent
// background is paper, not ink.
func (r *raster) fromRGBA(src *image.RGBA) {
	b := src.Bounds()
	for y := 0; y < r.h; y++ {
		off := (y+b.Min.Y-src.Rect.Min.Y)*src.Stride + (b.Min.X-src.Rect.Min.X)*4
		row := src.Pix[off : off+4*r.w]
		for x := 0; x < r.w; x++ {
			p := row[4*x : 4*x+4]
			white := 255 - p[3]
			i := 3 * (y*r.w + x)
			r.pix[i], r.pix[i+1], r.pix[i+2] = p[2]+white, p[1]+white, p[0]+white
		}
	}
}

// at returns channel c at (x, y), clamping coordinates to the border.
func (r *raster) at(x, y, c int) float32 {
	x = min(max(x, 0), r.w-1)
	y = min(max(y, 0), r.h-1)
	return float32(r.pix[3*(y*r.w+x)+c])
}

// sample returns channel c at a real position by bilinear interpolation,
// replicating the border.
func (r *raster) sample(x, y float64, c int) float32 {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := float32(x-x0), float32(y-y0)
	ix, iy := int(x0), int(y0)
	a := r.at(ix, iy, c)*(1-fx) + r.at(ix+1, iy, c)*fx
	b := r.at(ix, iy+1, c)*(1-fx) + r.at(ix+1, iy+1, c)*fx
	return a*(1-fy) + b*fy
}

// resize scales r to w×h by bilinear interpolation with half-pixel centres,
// as cv2.resize INTER_LINEAR does. It computes what sample does at each
// output pixel, bit for bit, with the source columns, rows and weights
// worked out once per column and row rather than per sample: a page and
// its line crops took about 80 ms a page through sample.
func (r *raster) resize(w, h int) *raster {
	out := &raster{w: w, h: h, pix: make([]uint8, 3*w*h), gray: r.gray}
	sx, sy := float64(r.w)/float64(w), float64(r.h)/float64(h)
	clampX := func(x int) int { return 3 * min(max(x, 0), r.w-1) }
	x0, x1, fxs := make([]int, w), make([]int, w), make([]float32, w)
	for x := range w {
		fx := (float64(x)+0.5)*sx - 0.5
		f := math.Floor(fx)
		x0[x], x1[x], fxs[x] = clampX(int(f)), clampX(int(f)+1), float32(fx-f)
	}
	for y := range h {
		fy := (float64(y)+0.5)*sy - 0.5
		f := math.Floor(fy)
		wy := float32(fy - f)
		iy := int(f)
		top := r.pix[3*r.w*min(max(iy, 0), r.h-1):]
		bot := r.pix[3*r.w*min(max(iy+1, 0), r.h-1):]
		row := out.pix[3*w*y : 3*w*(y+1)]
		if r.gray {
			for x := range w {
				a0, a1, wx := x0[x], x1[x], fxs[x]
				a := float32(top[a0])*(1-wx) + float32(top[a1])*wx
				b := float32(bot[a0])*(1-wx) + float32(bot[a1])*wx
				v := uint8(a*(1-wy) + b*wy + 0.5)
				row[3*x], row[3*x+1], row[3*x+2] = v, v, v
			}
			continue
		}
		for x := range w {
			a0, a1, wx := x0[x], x1[x], fxs[x]
			for c := range 3 {
				a := float32(top[a0+c])*(1-wx) + float32(top[a1+c])*wx
				b := float32(bot[a0+c])*(1-wx) + float32(bot[a1+c])*wx
				row[3*x+c] = uint8(a*(1-wy) + b*wy + 0.5)
			}
		}
	}
	return out
}

// rotate180 turns r upside down in place.
func (r *raster) rotate180() {
	n := r.w * r.h
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		for c := range 3 {
			r.pix[3*i+c], r.pix[3*j+c] = r.pix[3*j+c], r.pix[3*i+c]
		}
	}
}

// normalizeInto writes r as planar CHW floats into dst, a [3][h][stride]
// block, with value = (pixel*scale - mean[c]) / std[c]. Columns beyond r.w
// are left as they are (zero padding). The 256 values per channel are
// worked out once, with the same arithmetic as per pixel.
func (r *raster) normalizeInto(dst []float32, stride int, scale float32, mean, std [3]float32) {
	var lut [3][256]float32
	for c := range 3 {
		m, s := mean[c], 1/std[c]
		for v := range 256 {
			lut[c][v] = (float32(v)*scale - m) * s
		}
	}
	plane := r.h * stride
	for c := range 3 {
		t := &lut[c]
		for y := 0; y < r.h; y++ {
			row := dst[c*plane+y*stride : c*plane+y*stride+r.w]
			src := r.pix[3*y*r.w+c : 3*(y+1)*r.w]
			for x := range row {
				row[x] = t[src[3*x]]
			}
		}
	}
}

// minInkContrast is the least grey-level range a crop needs for inkColumns
// to tell ink from paper.
const minInkContrast = 48

// inkColumns reports, per column, whether any pixel in it is darker than
// halfway between the crop's darkest and lightest grey. It returns nil for a
// crop without enough contrast. The top and bottom tenth of the rows are
// left out. Dark text on light paper is assumed; light
// on dark is inverted first, decided by the border's brightness.
func (r *raster) inkColumns() []bool {
	gray := make([]uint8, r.w*r.h)
	lo, hi := uint8(255), uint8(0)
	var border, nb int
	for i := range gray {
		p := r.pix[3*i : 3*i+3]
		g := uint8((int(p[0]) + int(p[1]) + int(p[2])) / 3)
		gray[i] = g
		lo, hi = min(lo, g), max(hi, g)
		if x, y := i%r.w, i/r.w; y == 0 || y == r.h-1 || x == 0 || x == r.w-1 {
			border += int(g)
			nb++
		}
	}
	if int(hi)-int(lo) < minInkContrast {
		return nil
	}
	mid := (int(lo) + int(hi)) / 2
	darkPaper := border/max(nb, 1) < mid
	ink := make([]bool, r.w)
	// Only the middle rows count: the top and bottom of a crop may catch
	// descenders and ascenders of the neighbouring lines.
	for x := range r.w {
		for y := r.h / 10; y < r.h-r.h/10; y++ {
			g := int(gray[y*r.w+x])
			if (g < mid) != darkPaper {
				ink[x] = true
				break
			}
		}
	}
	return ink
}
