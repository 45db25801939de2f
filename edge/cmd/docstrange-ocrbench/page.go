package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Page geometry: A4 at 150 DPI with one-inch margins.
const (
	pageDPI    = 150
	pageWidth  = 1240
	pageHeight = 1754
	pageMargin = 150
	// lineSpacing is the baseline-to-baseline distance in em.
	lineSpacing = 1.4
	// maxPageLines caps the text lines of a page, blank lines between
	// paragraphs not counted.
	maxPageLines = 45
)

// fontFiles are the typefaces pages are set in.
var fontFiles = map[string][]byte{
	"goregular": goregular.TTF,
	"gobold":    gobold.TTF,
	"gomedium":  gomedium.TTF,
	"goitalic":  goitalic.TTF,
	"gomono":    gomono.TTF,
}

// pageStyle is the typeface and size of one page.
type pageStyle struct {
	Font string  `json:"font"`
	Size float64 `json:"size_px"`
}

// pageStyles cycle over the pages: 9 to 12 pt at 150 DPI.
var pageStyles = []pageStyle{
	{Font: "goregular", Size: 21}, // 10 pt
	{Font: "gomono", Size: 19},    // 9 pt
	{Font: "gobold", Size: 23},    // 11 pt
	{Font: "goregular", Size: 25}, // 12 pt
	{Font: "goitalic", Size: 21},  // 10 pt
	{Font: "gomedium", Size: 23},  // 11 pt
}

// page is one rendered test page and its reference text.
type page struct {
	Index int       `json:"index"`
	Style pageStyle `json:"style"`
	Lines int       `json:"lines"`
	Chars int       `json:"chars"`
	img   *image.RGBA
	// text is the reference: lines joined by newlines, paragraphs by a
	// blank line.
	text string
}

// newFace opens a face of font name at size pixels.
func newFace(name string, size float64) (font.Face, error) {
	f, err := opentype.Parse(fontFiles[name])
	if err != nil {
		return nil, fmt.Errorf("parsing font %s: %w", name, err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("opening face %s %vpx: %w", name, size, err)
	}
	return face, nil
}

// renderPage sets paragraphs from a generator seeded with i in the i-th
// style, filling the page between the margins.
func renderPage(i int) (*page, error) {
	st := pageStyles[i%len(pageStyles)]
	face, err := newFace(st.Font, st.Size)
	if err != nil {
		return nil, err
	}
	defer face.Close()
	paras := layout(face, newTextGen(uint64(i)+1), pageWidth-2*pageMargin,
		int(float64(pageHeight-2*pageMargin)/(st.Size*lineSpacing)))

	img := image.NewRGBA(image.Rect(0, 0, pageWidth, pageHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
	step := fixed.Int26_6(st.Size * lineSpacing * 64)
	y := fixed.I(pageMargin) + face.Metrics().Ascent
	p := &page{Index: i, Style: st, img: img}
	var text []string
	for k, para := range paras {
		if k > 0 {
			y += step
		}
		for _, l := range para {
			d.Dot = fixed.Point26_6{X: fixed.I(pageMargin), Y: y}
			d.DrawString(l)
			y += step
			p.Lines++
		}
		text = append(text, strings.Join(para, "\n"))
	}
	p.text = strings.Join(text, "\n\n")
	p.Chars = len([]rune(normalize(p.text)))
	return p, nil
}

// layout wraps generated paragraphs to width pixels until rows rows are
// used (one blank row between paragraphs) or maxPageLines text lines are
// set. The last paragraph may be cut short at a line end.
func layout(face font.Face, g *textGen, width, rows int) [][]string {
	var paras [][]string
	used, lines := 0, 0
	for used < rows && lines < maxPageLines {
		if len(paras) > 0 {
			used++ // the blank row
		}
		var para []string
		for _, l := range wrap(face, g.paragraph(), width) {
			if used == rows || lines == maxPageLines {
				break
			}
			para = append(para, l)
			used++
			lines++
		}
		if len(para) == 0 {
			break
		}
		paras = append(paras, para)
	}
	return paras
}

// wrap breaks s at spaces into lines no wider than width pixels; a word
// wider than width gets a line of its own.
func wrap(face font.Face, s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		next := w
		if line != "" {
			next = line + " " + w
		}
		if line != "" && font.MeasureString(face, next).Ceil() > width {
			lines = append(lines, line)
			next = w
		}
		line = next
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// gray is p's image as 8-bit gray, for the PNG given to Tesseract; the
// page is black on white, so no information is lost.
func (p *page) gray() *image.Gray {
	g := image.NewGray(p.img.Bounds())
	draw.Draw(g, g.Bounds(), p.img, image.Point{}, draw.Src)
	return g
}
