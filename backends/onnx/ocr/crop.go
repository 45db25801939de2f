package ocr

// crop cuts the quad q out of r into an upright rectangle, like PaddleOCR's
// get_rotate_crop_image: the quad's longer opposite sides give the size, an
// affine map from its top-left, top-right and bottom-left corners samples
// it, and a crop at least 1.5 times taller than wide is turned 90°
// counter-clockwise, since it is most likely vertical text.
func crop(r *raster, q Quad) *raster {
	w := int(max(q[0].dist(q[1]), q[2].dist(q[3])))
	h := int(max(q[0].dist(q[3]), q[1].dist(q[2])))
	w, h = max(w, 1), max(h, 1)
	out := &raster{w: w, h: h, pix: make([]uint8, 3*w*h), gray: r.gray}
	du := q[1].sub(q[0]).scale(1 / float64(w))
	dv := q[3].sub(q[0]).scale(1 / float64(h))
	for v := 0; v < h; v++ {
		for u := 0; u < w; u++ {
			p := q[0].add(du.scale(float64(u))).add(dv.scale(float64(v)))
			i := 3 * (v*w + u)
			if r.gray {
				g := uint8(r.sample(p.X, p.Y, 0) + 0.5)
				out.pix[i], out.pix[i+1], out.pix[i+2] = g, g, g
				continue
			}
			for c := range 3 {
				out.pix[i+c] = uint8(r.sample(p.X, p.Y, c) + 0.5)
			}
		}
	}
	if float64(h)/float64(w) >= 1.5 {
		return out.rotate90()
	}
	return out
}

// rotate90 returns r turned 90° counter-clockwise (numpy's rot90).
func (r *raster) rotate90() *raster {
	out := &raster{w: r.h, h: r.w, pix: make([]uint8, len(r.pix)), gray: r.gray}
	for i := 0; i < out.h; i++ {
		for j := 0; j < out.w; j++ {
			src := 3 * (j*r.w + (r.w - 1 - i))
			copy(out.pix[3*(i*out.w+j):3*(i*out.w+j)+3], r.pix[src:src+3])
		}
	}
	return out
}
