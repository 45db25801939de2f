package ocr

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// fonts are the typefaces the accuracy tests render with.
var fonts = map[string][]byte{
	"goregular": goregular.TTF,
	"gobold":    gobold.TTF,
	"goitalic":  goitalic.TTF,
	"gomono":    gomono.TTF,
}

func newFace(t testing.TB, name string, size float64) font.Face {
	t.Helper()
	f, err := opentype.Parse(fonts[name])
	if err != nil {
		t.Fatalf("parsing font %s: %v", name, err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		t.Fatalf("creating face %s %v: %v", name, size, err)
	}
	t.Cleanup(func() { _ = face.Close() })
	return face
}

// block is text drawn at a position, one entry per line.
type block struct {
	x, y  int
	lines []string
}

// render draws blocks in black on a white w×h page with the given face and
// a line spacing of 1.5 em.
func render(face font.Face, w, h int, blocks ...block) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
	m := face.Metrics()
	step := (m.Height * 3) / 2
	for _, b := range blocks {
		y := fixed.I(b.y) + m.Ascent
		for _, l := range b.lines {
			d.Dot = fixed.Point26_6{X: fixed.I(b.x), Y: y}
			d.DrawString(l)
			y += step
		}
	}
	return img
}

// textWidth is the advance of s in face, in pixels.
func textWidth(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}
