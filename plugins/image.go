package plugins

import (
	"image"
	"image/draw"
)

// WireImage returns img as the most compact raw image the contract
// carries: ImageGray when every pixel is opaque gray, as on scans and most
// rendered text pages, else ImageRGBA. A packed *image.RGBA or *image.Gray
// is used without copying. Raw beats PNG here because encoding a page
// costs more than sending its bytes to a process on the same machine.
func WireImage(img image.Image) Image {
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) && g.Stride == g.Rect.Dx() {
		return Image{Format: ImageGray, Data: g.Pix, Width: g.Rect.Dx(), Height: g.Rect.Dy()}
	}
	rgba := packedRGBA(img)
	w, h := rgba.Rect.Dx(), rgba.Rect.Dy()
	if gray, ok := grayOf(rgba.Pix, w*h); ok {
		return Image{Format: ImageGray, Data: gray, Width: w, Height: h}
	}
	return Image{Format: ImageRGBA, Data: rgba.Pix, Width: w, Height: h}
}

// packedRGBA returns img as RGBA without row padding, copying only when
// needed.
func packedRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) && r.Stride == 4*r.Rect.Dx() {
		return r
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// grayOf returns the gray levels of n RGBA pixels, or false at the first
// pixel that is colored or not opaque.
func grayOf(pix []byte, n int) ([]byte, bool) {
	gray := make([]byte, n)
	for i := range gray {
		p := pix[4*i : 4*i+4 : 4*i+4]
		if p[0] != p[1] || p[1] != p[2] || p[3] != 0xff {
			return nil, false
		}
		gray[i] = p[0]
	}
	return gray, true
}

// expandGray returns a gray image as RGBA, for backends before v1.1; other
// images are returned as they are.
func expandGray(im Image) Image {
	if im.Format != ImageGray {
		return im
	}
	rgba := make([]byte, 4*len(im.Data))
	for i, v := range im.Data {
		rgba[4*i], rgba[4*i+1], rgba[4*i+2], rgba[4*i+3] = v, v, v, 0xff
	}
	return Image{Format: ImageRGBA, Data: rgba, Width: im.Width, Height: im.Height}
}

// ForAPIVersion returns r as a backend speaking API version v can read:
// r itself, or a copy whose ImageGray items are expanded to ImageRGBA
// when v is before v1.1.
func (r *ProcessRequest) ForAPIVersion(v string) *ProcessRequest {
	if APIVersionAtLeast(v, APIVersion1_1) {
		return r
	}
	var out *ProcessRequest
	for i, it := range r.Items {
		if it.Image.Format != ImageGray {
			continue
		}
		if out == nil {
			cp := *r
			cp.Items = append([]Item(nil), r.Items...)
			out = &cp
		}
		out.Items[i].Image = expandGray(it.Image)
	}
	if out == nil {
		return r
	}
	return out
}
