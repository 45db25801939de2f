package main

import (
	"strings"
	"testing"
	"unicode"

	"golang.org/x/image/font"
)

func TestTextGenDeterministic(t *testing.T) {
	a, b := newTextGen(7), newTextGen(7)
	for range 20 {
		if pa, pb := a.paragraph(), b.paragraph(); pa != pb {
			t.Fatalf("same seed, different paragraphs:\n%q\n%q", pa, pb)
		}
	}
	if newTextGen(1).paragraph() == newTextGen(2).paragraph() {
		t.Fatal("seeds 1 and 2 gave the same paragraph")
	}
}

func TestTextGenParagraphs(t *testing.T) {
	g := newTextGen(3)
	for i := range 200 {
		p := g.paragraph()
		if strings.ContainsAny(p, "{}\n\t") || strings.Contains(p, "  ") {
			t.Fatalf("paragraph %d has a placeholder or stray white space: %q", i, p)
		}
		for _, r := range p {
			if r > unicode.MaxASCII || !unicode.IsPrint(r) {
				t.Fatalf("paragraph %d has %q, outside printable ASCII: %q", i, r, p)
			}
		}
		if n := strings.Count(p, ". ") + 1; n < 3 {
			t.Errorf("paragraph %d has %d sentences, want at least 3: %q", i, n, p)
		}
	}
}

func TestRenderPage(t *testing.T) {
	for i := range pageStyles {
		t.Run(pageStyles[i].Font, func(t *testing.T) {
			p, err := renderPage(i)
			if err != nil {
				t.Fatal(err)
			}
			if p.Lines < 30 || p.Lines > maxPageLines {
				t.Errorf("%d lines, want 30 to %d", p.Lines, maxPageLines)
			}
			if got := strings.Count(p.text, "\n") - strings.Count(p.text, "\n\n") + 1; got != p.Lines {
				t.Errorf("reference has %d lines, page says %d", got, p.Lines)
			}
			if b := p.img.Bounds(); b.Dx() != pageWidth || b.Dy() != pageHeight {
				t.Errorf("page is %v, want %dx%d", b, pageWidth, pageHeight)
			}
			face, err := newFace(p.Style.Font, p.Style.Size)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = face.Close() })
			for _, l := range strings.Split(p.text, "\n") {
				if w := font.MeasureString(face, l).Ceil(); w > pageWidth-2*pageMargin {
					t.Errorf("line %q is %d px wide, over the text width %d", l, w, pageWidth-2*pageMargin)
				}
			}
			if again, _ := renderPage(i); again.text != p.text {
				t.Error("rendering the same page twice gave different text")
			}
		})
	}
}

func TestWrap(t *testing.T) {
	face, err := newFace("gomono", 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = face.Close() })
	cw := font.MeasureString(face, "x").Ceil() // monospace: every glyph
	tests := []struct {
		name  string
		text  string
		width int
		want  []string
	}{
		{name: "fits", text: "ab cd", width: 5 * cw, want: []string{"ab cd"}},
		{name: "breaks at space", text: "ab cd ef", width: 5 * cw, want: []string{"ab cd", "ef"}},
		{name: "long word alone", text: "abcdefgh ij", width: 4 * cw, want: []string{"abcdefgh", "ij"}},
		{name: "empty", text: "  ", width: 4 * cw, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrap(face, tt.text, tt.width)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Fatalf("wrap(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
			}
		})
	}
}
