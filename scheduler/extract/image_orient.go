package extract

import (
	"image"
	"image/color"
	"image/draw"
)

// orient applies an EXIF/TIFF orientation (1 to 8) to img, returning an
// upright image; 1 and unknown values return img itself. The pixels are
// copied byte-wise for Gray, RGBA and NRGBA images; others (JPEG's YCbCr,
// CMYK, paletted) are converted to RGBA first, which OCR would do anyway.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	pix, stride, bpp, b, mk := pixelsOf(img)
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dpix, dstride, dst := mk(dw, dh)
	// Destination pixel of source (x, y): (cx + x*xx + y*xy, cy + x*yx + y*yy).
	var cx, cy, xx, xy, yx, yy int
	switch o {
	case 2: // mirrored
		cx, xx, yy = w-1, -1, 1
	case 3: // upside down
		cx, cy, xx, yy = w-1, h-1, -1, -1
	case 4: // mirrored upside down
		cy, xx, yy = h-1, 1, -1
	case 5: // transposed
		xy, yx = 1, 1
	case 6: // top row is the right side: turn clockwise
		cx, xy, yx = h-1, -1, 1
	case 7: // transversed
		cx, cy, xy, yx = h-1, w-1, -1, -1
	case 8: // top row is the left side: turn anticlockwise
		cy, xy, yx = w-1, 1, -1
	}
	// The same in byte offsets, so the inner loop only adds.
	step := xx*bpp + yx*dstride
	for y := range h {
		src := pix[y*stride : y*stride+w*bpp]
		d := (cy+y*yy)*dstride + (cx+y*xy)*bpp
		switch bpp {
		case 1:
			for _, v := range src {
				dpix[d] = v
				d += step
			}
		case 4:
			for x := 0; x < len(src); x += 4 {
				copy(dpix[d:d+4], src[x:x+4])
				d += step
			}
		}
	}
	return dst
}

// pixelsOf returns img's pixel buffer (converted to RGBA when img has no
// byte-addressable one), and a constructor for a buffer of the same kind.
func pixelsOf(img image.Image) ([]byte, int, int, image.Rectangle, func(w, h int) ([]byte, int, image.Image)) {
	switch m := img.(type) {
	case *image.Gray:
		return m.Pix, m.Stride, 1, m.Rect, func(w, h int) ([]byte, int, image.Image) {
			d := image.NewGray(image.Rect(0, 0, w, h))
			return d.Pix, d.Stride, d
		}
	case *image.RGBA:
		return m.Pix, m.Stride, 4, m.Rect, func(w, h int) ([]byte, int, image.Image) {
			d := image.NewRGBA(image.Rect(0, 0, w, h))
			return d.Pix, d.Stride, d
		}
	case *image.NRGBA:
		return m.Pix, m.Stride, 4, m.Rect, func(w, h int) ([]byte, int, image.Image) {
			d := image.NewNRGBA(image.Rect(0, 0, w, h))
			return d.Pix, d.Stride, d
		}
	}
	if img.ColorModel() == color.GrayModel {
		return pixelsOf(onCanvasGray(img))
	}
	return pixelsOf(onCanvas(img, img.Bounds()))
}

// onCanvas draws img onto a new RGBA image with bounds r moved to the
// origin.
func onCanvas(img image.Image, r image.Rectangle) *image.RGBA {
	d := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(d, d.Rect, img, r.Min, draw.Src)
	return d
}

func onCanvasGray(img image.Image) *image.Gray {
	r := img.Bounds()
	d := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(d, d.Rect, img, r.Min, draw.Src)
	return d
}
