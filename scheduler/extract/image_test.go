package extract

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// Quadrant colours of the test picture, far apart so that JPEG loss cannot
// confuse them.
var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// quadrants returns a w×h picture: red top left, green top right, blue
// bottom left, white bottom right.
func quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := red
			switch {
			case x >= w/2 && y < h/2:
				c = green
			case x < w/2 && y >= h/2:
				c = blue
			case x >= w/2 && y >= h/2:
				c = white
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// nearest names the test colour closest to c.
func nearest(c color.Color) string {
	r, g, b, _ := c.RGBA()
	names := []struct {
		name string
		c    color.RGBA
	}{{"red", red}, {"green", green}, {"blue", blue}, {"white", white}}
	best, bestD := "", int64(-1)
	for _, n := range names {
		d := sq(int64(r>>8)-int64(n.c.R)) + sq(int64(g>>8)-int64(n.c.G)) + sq(int64(b>>8)-int64(n.c.B))
		if bestD < 0 || d < bestD {
			best, bestD = n.name, d
		}
	}
	return best
}

func sq(v int64) int64 { return v * v }

// corners samples the middle of each quadrant: top left, top right, bottom
// left, bottom right.
func corners(m image.Image) [4]string {
	b := m.Bounds()
	x0, x1 := b.Min.X+b.Dx()/4, b.Min.X+3*b.Dx()/4
	y0, y1 := b.Min.Y+b.Dy()/4, b.Min.Y+3*b.Dy()/4
	return [4]string{nearest(m.At(x0, y0)), nearest(m.At(x1, y0)), nearest(m.At(x0, y1)), nearest(m.At(x1, y1))}
}

func encode(t testing.TB, enc func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := enc(&buf); err != nil {
		t.Fatalf("encoding fixture: %v", err)
	}
	return buf.Bytes()
}

func pngOf(t testing.TB, m image.Image) []byte {
	return encode(t, func(b *bytes.Buffer) error { return png.Encode(b, m) })
}

func jpegOf(t testing.TB, m image.Image) []byte {
	return encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, m, &jpeg.Options{Quality: 90}) })
}

// withEXIF inserts an APP1 EXIF segment holding only an orientation tag
// right after the SOI marker, in the given byte order.
func withEXIF(jpg []byte, orientation uint16, order binary.ByteOrder) []byte {
	var tiffHdr bytes.Buffer
	if order == binary.BigEndian {
		tiffHdr.WriteString("MM\x00*")
	} else {
		tiffHdr.WriteString("II*\x00")
	}
	w := func(v any) { _ = binary.Write(&tiffHdr, order, v) }
	w(uint32(8))      // IFD0 offset
	w(uint16(1))      // one entry
	w(uint16(0x0112)) // Orientation
	w(uint16(3))      // SHORT
	w(uint32(1))      // count
	w(orientation)    // value, left-justified
	w(uint16(0))      // padding
	w(uint32(0))      // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiffHdr.Bytes()...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// tiffPage describes one directory of a hand-written TIFF.
type tiffPage struct {
	w, h        int
	grey        byte   // every pixel's value
	orientation uint16 // 0: no tag
	reduced     bool   // NewSubfileType 1: a thumbnail
	noPixels    bool   // write the directory only: a header's claim
}

// multiTIFF writes an uncompressed 8-bit greyscale little-endian TIFF with
// one directory per page, chained in order.
func multiTIFF(pages []tiffPage) []byte {
	var buf bytes.Buffer
	buf.WriteString("II*\x00")
	_ = binary.Write(&buf, binary.LittleEndian, uint32(0)) // patched below
	prevNext := 4                                          // where to write this IFD's offset
	for _, p := range pages {
		// Pixel data first, then the directory.
		strip := buf.Len()
		if !p.noPixels {
			buf.Write(bytes.Repeat([]byte{p.grey}, p.w*p.h))
		}
		if buf.Len()%2 == 1 {
			buf.WriteByte(0)
		}
		ifd := buf.Len()
		binary.LittleEndian.PutUint32(buf.Bytes()[prevNext:], uint32(ifd))
		type entry struct {
			tag, typ uint16
			val      uint32
		}
		entries := []entry{}
		if p.reduced {
			entries = append(entries, entry{254, 4, 1})
		}
		entries = append(entries,
			entry{256, 4, uint32(p.w)}, entry{257, 4, uint32(p.h)}, entry{258, 3, 8}, entry{259, 3, 1},
			entry{262, 3, 1}, entry{273, 4, uint32(strip)})
		if p.orientation != 0 {
			entries = append(entries, entry{274, 3, uint32(p.orientation)})
		}
		entries = append(entries, entry{277, 3, 1}, entry{278, 4, uint32(p.h)}, entry{279, 4, uint32(p.w * p.h)})
		le := func(v any) { _ = binary.Write(&buf, binary.LittleEndian, v) }
		le(uint16(len(entries)))
		for _, e := range entries {
			le(e.tag)
			le(e.typ)
			le(uint32(1))
			if e.typ == 3 {
				le(uint16(e.val))
				le(uint16(0))
			} else {
				le(e.val)
			}
		}
		prevNext = buf.Len()
		le(uint32(0))
	}
	return buf.Bytes()
}

// inspect and decodeAll run the API on bytes.
func inspect(t testing.TB, data []byte, limits ImageLimits) (ImageInfo, error) {
	t.Helper()
	return InspectImage(t.Context(), bytes.NewReader(data), int64(len(data)), limits)
}

func decodeAll(ctx context.Context, data []byte, pages []int, limits ImageLimits) ([]ImagePage, error) {
	var out []ImagePage
	for p, err := range DecodeImagePages(ctx, bytes.NewReader(data), int64(len(data)), pages, limits) {
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

func TestDecodeImageFormats(t *testing.T) {
	pic := quadrants(32, 16)
	upright := [4]string{"red", "green", "blue", "white"}
	tests := []struct {
		name      string
		data      []byte
		media     string
		w, h      int
		corners   [4]string
		halvesPic bool // the 8×6 red|blue WebP picture
	}{
		{name: "png", data: pngOf(t, pic), media: MediaTypePNG, w: 32, h: 16, corners: upright},
		{name: "jpeg", data: jpegOf(t, pic), media: MediaTypeJPEG, w: 32, h: 16, corners: upright},
		{name: "gif", data: encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, pic, nil) }), media: MediaTypeGIF, w: 32, h: 16, corners: upright},
		{name: "bmp", data: encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, pic) }), media: MediaTypeBMP, w: 32, h: 16, corners: upright},
		{name: "tiff deflate", data: encode(t, func(b *bytes.Buffer) error {
			return tiff.Encode(b, pic, &tiff.Options{Compression: tiff.Deflate})
		}), media: MediaTypeTIFF, w: 32, h: 16, corners: upright},
		{name: "tiff uncompressed grey", data: encode(t, func(b *bytes.Buffer) error {
			g := image.NewGray(pic.Rect)
			for i := range g.Pix {
				g.Pix[i] = 200
			}
			return tiff.Encode(b, g, nil)
		}), media: MediaTypeTIFF, w: 32, h: 16, corners: [4]string{"white", "white", "white", "white"}},
		{name: "webp lossless", data: readFixture(t, "halves-lossless.webp"), media: MediaTypeWebP, w: 8, h: 6, halvesPic: true},
		{name: "webp lossy", data: readFixture(t, "halves-lossy.webp"), media: MediaTypeWebP, w: 8, h: 6, halvesPic: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := inspect(t, tt.data, ImageLimits{})
			if err != nil {
				t.Fatalf("InspectImage: %v", err)
			}
			want := ImageInfo{MediaType: tt.media, Pages: 1, Width: tt.w, Height: tt.h}
			if info != want {
				t.Errorf("InspectImage = %+v, want %+v", info, want)
			}
			pages, err := decodeAll(t.Context(), tt.data, nil, ImageLimits{})
			if err != nil {
				t.Fatalf("DecodeImagePages: %v", err)
			}
			if len(pages) != 1 || pages[0].Number != 1 {
				t.Fatalf("got %d pages, want page 1 only", len(pages))
			}
			img := pages[0].Image
			if b := img.Bounds(); b != image.Rect(0, 0, tt.w, tt.h) {
				t.Errorf("bounds %v, want %dx%d at the origin", b, tt.w, tt.h)
			}
			if tt.halvesPic {
				l, r := nearest(img.At(1, 3)), nearest(img.At(6, 3))
				if l != "red" || r != "blue" {
					t.Errorf("left %s, right %s; want red, blue", l, r)
				}
				return
			}
			if got := corners(img); got != tt.corners {
				t.Errorf("corners %v, want %v", got, tt.corners)
			}
		})
	}
}

func TestWebPLosslessMatchesSource(t *testing.T) {
	src, err := png.Decode(bytes.NewReader(readFixture(t, "src/halves.png")))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := decodeAll(t.Context(), readFixture(t, "halves-lossless.webp"), nil, ImageLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for y := range 6 {
		for x := range 8 {
			if a, b := color.RGBAModel.Convert(src.At(x, y)), color.RGBAModel.Convert(pages[0].Image.At(x, y)); a != b {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, b, a)
			}
		}
	}
}

func TestJPEGOrientation(t *testing.T) {
	base := jpegOf(t, quadrants(32, 16))
	tests := []struct {
		name        string
		orientation uint16
		order       binary.ByteOrder
		w, h        int
		corners     [4]string // TL, TR, BL, BR as displayed
	}{
		{"1 upright", 1, binary.BigEndian, 32, 16, [4]string{"red", "green", "blue", "white"}},
		{"2 mirrored", 2, binary.BigEndian, 32, 16, [4]string{"green", "red", "white", "blue"}},
		{"3 upside down", 3, binary.LittleEndian, 32, 16, [4]string{"white", "blue", "green", "red"}},
		{"4 flipped", 4, binary.BigEndian, 32, 16, [4]string{"blue", "white", "red", "green"}},
		{"5 transposed", 5, binary.BigEndian, 16, 32, [4]string{"red", "blue", "green", "white"}},
		{"6 clockwise, big-endian", 6, binary.BigEndian, 16, 32, [4]string{"blue", "red", "white", "green"}},
		{"6 clockwise, little-endian", 6, binary.LittleEndian, 16, 32, [4]string{"blue", "red", "white", "green"}},
		{"7 transversed", 7, binary.BigEndian, 16, 32, [4]string{"white", "green", "blue", "red"}},
		{"8 anticlockwise", 8, binary.LittleEndian, 16, 32, [4]string{"green", "white", "red", "blue"}},
		{"9 invalid: ignored", 9, binary.BigEndian, 32, 16, [4]string{"red", "green", "blue", "white"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := withEXIF(base, tt.orientation, tt.order)
			info, err := inspect(t, data, ImageLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Width != tt.w || info.Height != tt.h {
				t.Errorf("InspectImage size %dx%d, want %dx%d", info.Width, info.Height, tt.w, tt.h)
			}
			pages, err := decodeAll(t.Context(), data, nil, ImageLimits{})
			if err != nil {
				t.Fatal(err)
			}
			img := pages[0].Image
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Errorf("decoded %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.w, tt.h)
			}
			if got := corners(img); got != tt.corners {
				t.Errorf("corners %v, want %v", got, tt.corners)
			}
		})
	}
}

func TestMultiPageTIFF(t *testing.T) {
	data := multiTIFF([]tiffPage{
		{w: 20, h: 10, grey: 10},
		{w: 4, h: 2, grey: 99, reduced: true}, // thumbnail: not a page
		{w: 20, h: 10, grey: 20, orientation: 6},
		{w: 30, h: 12, grey: 30},
	})
	info, err := inspect(t, data, ImageLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ImageInfo{MediaType: MediaTypeTIFF, Pages: 3, Width: 20, Height: 10}); info != want {
		t.Errorf("InspectImage = %+v, want %+v", info, want)
	}
	tests := []struct {
		name  string
		pages []int
		want  []int // numbers
		grey  []byte
		sizes [][2]int
	}{
		{"all pages", nil, []int{1, 2, 3}, []byte{10, 20, 30}, [][2]int{{20, 10}, {10, 20}, {30, 12}}},
		{"selected, in the order asked", []int{3, 1}, []int{3, 1}, []byte{30, 10}, [][2]int{{30, 12}, {20, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages, err := decodeAll(t.Context(), data, tt.pages, ImageLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != len(tt.want) {
				t.Fatalf("got %d pages, want %d", len(pages), len(tt.want))
			}
			for i, p := range pages {
				b := p.Image.Bounds()
				y, _, _, _ := p.Image.At(0, 0).RGBA()
				if p.Number != tt.want[i] || byte(y>>8) != tt.grey[i] || b.Dx() != tt.sizes[i][0] || b.Dy() != tt.sizes[i][1] {
					t.Errorf("page %d: number %d, grey %d, %dx%d; want %d, %d, %dx%d",
						i, p.Number, y>>8, b.Dx(), b.Dy(), tt.want[i], tt.grey[i], tt.sizes[i][0], tt.sizes[i][1])
				}
			}
		})
	}
	if _, err := decodeAll(t.Context(), data, []int{4}, ImageLimits{}); err == nil {
		t.Error("page 4 of 3: no error")
	}
}

// setPNGSize rewrites the IHDR size of a PNG and its checksum.
func setPNGSize(data []byte, w, h uint32) []byte {
	out := bytes.Clone(data)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

// setJPEGSize rewrites the size in the SOF0 segment of a JPEG.
func setJPEGSize(t testing.TB, data []byte, w, h uint16) []byte {
	out := bytes.Clone(data)
	i := bytes.Index(out, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

func TestImageTooLarge(t *testing.T) {
	small := quadrants(32, 16)
	tests := []struct {
		name   string
		data   []byte
		limits ImageLimits
	}{
		// Baseline JPEG sizes are 16-bit: 65500² is the largest claim.
		{"jpeg claiming 65500x65500", setJPEGSize(t, jpegOf(t, small), 65500, 65500), ImageLimits{}},
		{"png claiming 100000x100000", setPNGSize(pngOf(t, small), 100000, 100000), ImageLimits{}},
		{"png claiming 2^31-1 squared", setPNGSize(pngOf(t, small), 1<<31-1, 1<<31-1), ImageLimits{}},
		{"tiff page claiming 100000x100000", multiTIFF([]tiffPage{{w: 1, h: 1}, {w: 100000, h: 100000, noPixels: true}}), ImageLimits{}},
		{"configured limit", pngOf(t, small), ImageLimits{MaxPixels: 32*16 - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := inspect(t, tt.data, tt.limits); !errors.Is(err, ErrImageTooLarge) {
				t.Errorf("InspectImage: %v, want ErrImageTooLarge", err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := decodeAll(t.Context(), tt.data, nil, tt.limits)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrImageTooLarge) {
				t.Errorf("DecodeImagePages: %v, want ErrImageTooLarge", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes before refusing", alloc)
			}
			if elapsed > 100*time.Millisecond {
				t.Errorf("took %v to refuse", elapsed)
			}
		})
	}
	if _, err := inspect(t, pngOf(t, small), ImageLimits{MaxPixels: 32 * 16}); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
}

func TestTooManyPages(t *testing.T) {
	// 10,000 one-pixel pages: about 1.6 MB.
	many := make([]tiffPage, 10000)
	for i := range many {
		many[i] = tiffPage{w: 1, h: 1}
	}
	data := multiTIFF(many)
	start := time.Now()
	_, err := inspect(t, data, ImageLimits{})
	if !errors.Is(err, ErrTooManyPages) {
		t.Fatalf("InspectImage: %v, want ErrTooManyPages", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v to refuse", d)
	}
	t.Logf("refused 10000 pages in %v", time.Since(start))
	if _, err := decodeAll(t.Context(), data, []int{1}, ImageLimits{}); !errors.Is(err, ErrTooManyPages) {
		t.Errorf("DecodeImagePages: %v, want ErrTooManyPages", err)
	}
	three := multiTIFF(many[:3])
	if _, err := inspect(t, three, ImageLimits{MaxPages: 2}); !errors.Is(err, ErrTooManyPages) {
		t.Errorf("3 pages, limit 2: %v", err)
	}
	if info, err := inspect(t, three, ImageLimits{MaxPages: 3}); err != nil || info.Pages != 3 {
		t.Errorf("3 pages, limit 3: %+v, %v", info, err)
	}
}

func TestCorruptImages(t *testing.T) {
	pic := quadrants(64, 64)
	for i := range pic.Pix {
		pic.Pix[i] ^= byte(i * 7) // noise, so the PNG does not compress to nothing
	}
	pngData := pngOf(t, pic)
	jpegData := jpegOf(t, pic)
	loop := multiTIFF([]tiffPage{{w: 2, h: 2}, {w: 2, h: 2}})
	// Point the second directory's "next" back at the first.
	first := binary.LittleEndian.Uint32(loop[4:])
	binary.LittleEndian.PutUint32(loop[len(loop)-4:], first)
	tests := []struct {
		name       string
		data       []byte
		inspectErr error // nil: the headers are fine
		decodeErr  error
	}{
		{"truncated png", pngData[:len(pngData)/2], nil, ErrCorrupt},
		{"png cut inside its header", pngData[:20], ErrCorrupt, ErrCorrupt},
		{"truncated jpeg", jpegData[:len(jpegData)/2], nil, ErrCorrupt},
		{"bad png checksum", append(append([]byte{}, pngData[:40]...), bytes.Repeat([]byte{0}, len(pngData)-40)...), nil, ErrCorrupt},
		{"tiff directory loop", loop, ErrCorrupt, ErrCorrupt},
		{"tiff directory outside the file", append([]byte("II*\x00"), 0xff, 0xff, 0, 0), ErrCorrupt, ErrCorrupt},
		{"bigtiff", []byte("II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00"), ErrUnsupportedImage, ErrUnsupportedImage},
		{"not an image", []byte("%PDF-1.4 hello"), ErrUnsupportedImage, ErrUnsupportedImage},
		{"empty", nil, ErrCorrupt, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inspect(t, tt.data, ImageLimits{})
			if tt.inspectErr == nil && err != nil || tt.inspectErr != nil && !errors.Is(err, tt.inspectErr) {
				t.Errorf("InspectImage: %v, want %v", err, tt.inspectErr)
			}
			if _, err := decodeAll(t.Context(), tt.data, nil, ImageLimits{}); !errors.Is(err, tt.decodeErr) {
				t.Errorf("DecodeImagePages: %v, want %v", err, tt.decodeErr)
			}
		})
	}
}

func TestDecodeImagePagesContext(t *testing.T) {
	data := multiTIFF([]tiffPage{{w: 2, h: 2}, {w: 2, h: 2}, {w: 2, h: 2}})
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	n := 0
	var err error
	for _, err = range DecodeImagePages(ctx, bytes.NewReader(data), int64(len(data)), nil, ImageLimits{}) {
		if err != nil {
			break
		}
		n++
		cancel()
	}
	if n != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("got %d pages then %v; want 1 page then context.Canceled", n, err)
	}
	// Stopping early is allowed and does not call yield again.
	for range DecodeImagePages(t.Context(), bytes.NewReader(data), int64(len(data)), nil, ImageLimits{}) {
		break
	}
	if _, err := inspect(t, data, ImageLimits{MaxPages: -1}); err == nil {
		t.Error("negative limit accepted")
	}
}

// BenchmarkDecodeImage decodes an A4 page scanned at 200 dpi (hello.pdf
// rendered to 1653×2339 RGBA, then encoded) in each format. InspectImage of
// the PNG is the baseline the decodes are reported against.
func BenchmarkDecodeImage(b *testing.B) {
	var page image.Image
	for p, err := range testEngine(b).RenderPDF(b.Context(), "testdata/hello.pdf", nil, RenderOptions{}) {
		if err != nil {
			b.Fatal(err)
		}
		page = p.Image
	}
	grey := image.NewGray(page.Bounds())
	draw.Draw(grey, grey.Rect, page, image.Point{}, draw.Src)
	rotated := withEXIF(jpegOf(b, page), 6, binary.BigEndian)
	inputs := []struct {
		name string
		data []byte
	}{
		{"png_rgba", pngOf(b, page)},
		{"png_grey", pngOf(b, grey)},
		{"jpeg", jpegOf(b, page)},
		{"jpeg_exif6", rotated},
		{"tiff_deflate_grey", encode(b, func(buf *bytes.Buffer) error {
			return tiff.Encode(buf, grey, &tiff.Options{Compression: tiff.Deflate})
		})},
		{"bmp", encode(b, func(buf *bytes.Buffer) error { return bmp.Encode(buf, page) })},
	}
	var base time.Duration
	b.Run("inspect_png", func(b *testing.B) {
		data := inputs[0].data
		base = perOp(b, func() {
			if _, err := inspect(b, data, ImageLimits{}); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(base.Microseconds()), "µs/file")
	})
	for _, in := range inputs {
		b.Run("decode_"+in.name, func(b *testing.B) {
			d := perOp(b, func() {
				if _, err := decodeAll(b.Context(), in.data, nil, ImageLimits{}); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(float64(d.Microseconds())/1000, "ms/page")
			b.ReportMetric(float64(len(in.data))/1024, "KiB")
			if base > 0 {
				b.ReportMetric(float64(d)/float64(base), "x_of_inspect")
			}
		})
	}
}
