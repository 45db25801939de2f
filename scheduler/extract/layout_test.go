package extract

import (
	"fmt"
	"strings"
	"testing"
)

// typeset lays text out as the PDF would: one glyph per rune, half an em
// wide, a ' ' break between words and a '\n' at the end of the line.
func typeset(x, y, size float64, text string) []glyph {
	var gs []glyph
	for i, word := range strings.Split(text, " ") {
		if i > 0 {
			gs = append(gs, glyph{r: ' '})
			x += 0.25 * size
		}
		for _, r := range word {
			gs = append(gs, glyph{r: r, size: size, box: rect{x, y, x + 0.5*size, y + size}})
			x += 0.5 * size
		}
	}
	return append(gs, glyph{r: '\n'})
}

// para typesets lines at a 1.2 em pitch from y down.
func para(x, y, size float64, lines ...string) []glyph {
	var gs []glyph
	for i, l := range lines {
		gs = append(gs, typeset(x, y+float64(i)*1.2*size, size, l)...)
	}
	return gs
}

func texts(blocks []textBlock) string {
	var s []string
	for _, b := range blocks {
		s = append(s, b.text)
	}
	return strings.Join(s, " | ")
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name   string
		glyphs []glyph
		want   string
	}{
		{
			name:   "wrapped lines form one paragraph",
			glyphs: para(72, 100, 10, "the first line of", "the same paragraph"),
			want:   "the first line of the same paragraph",
		},
		{
			name: "a blank line splits paragraphs",
			glyphs: append(para(72, 100, 10, "first paragraph", "goes on"),
				para(72, 100+3*12, 10, "second paragraph")...),
			want: "first paragraph goes on | second paragraph",
		},
		{
			name:   "a size jump splits a heading from its text",
			glyphs: append(typeset(72, 80, 18, "Big Title"), para(72, 102, 10, "body text")...),
			want:   "Big Title | body text",
		},
		{
			name:   "content order is not reading order",
			glyphs: append(para(72, 200, 10, "second"), para(72, 100, 10, "first")...),
			want:   "first | second",
		},
		{
			name:   "line-end hyphen joins the word",
			glyphs: para(72, 100, 10, "a well-", "known fact"),
			want:   "a well-known fact",
		},
		{
			name:   "a marked word-break hyphen is removed",
			glyphs: para(72, 100, 10, "manip\u00ad", "ulation and soft\u00adhyphens", "a broken\u00ad"),
			want:   "manipulation and softhyphens a broken-",
		},
		{
			name: "a gap without a space character is a space",
			glyphs: []glyph{
				{r: 'a', size: 10, box: rect{72, 100, 77, 110}},
				{r: 'b', size: 10, box: rect{80, 100, 85, 110}},
				{r: '\n'},
			},
			want: "a b",
		},
		{
			name: "kerned glyphs that overlap are not doubled",
			glyphs: []glyph{
				{r: 'T', size: 10, box: rect{72, 100, 78, 110}},
				{r: 'w', size: 10, box: rect{77.5, 100, 84, 110}},
				{r: 'o', size: 10, box: rect{84, 100, 89, 110}},
				{r: '\n'},
			},
			want: "Two",
		},
		{
			name: "two columns under a centred title, above a footer",
			glyphs: concat(
				typeset(250, 60, 10, "A Title Across The Gutter"),
				para(72, 100, 10, "left one and some more words to fill it", "more left text here to fill the column", "and the left end"),
				para(320, 100, 10, "right one and some more words to fill", "more right text to fill this column", "and the right end"),
				typeset(250, 400, 10, "a footer across the gutter"),
			),
			want: "A Title Across The Gutter | left one and some more words to fill it more left text here to fill the column and the left end | " +
				"right one and some more words to fill more right text to fill this column and the right end | a footer across the gutter",
		},
		{
			name: "a key-value list is not two columns",
			glyphs: concat(
				typeset(72, 100, 10, "Name:"), typeset(300, 100, 10, "Alice Example"),
				typeset(72, 112, 10, "City:"), typeset(300, 112, 10, "Berlin"),
				typeset(72, 124, 10, "Role:"), typeset(300, 124, 10, "Engineer"),
			),
			want: "Name: Alice Example City: Berlin Role: Engineer",
		},
		{
			name: "labels of different lengths are not a column",
			glyphs: concat(
				typeset(72, 100, 10, "Name:"), typeset(250, 100, 10, "Alice Example with a longer value"),
				typeset(72, 112, 10, "Occupation and title:"), typeset(250, 112, 10, "Engineer of many things here"),
				typeset(72, 124, 10, "City:"), typeset(250, 124, 10, "Berlin, the capital city"),
			),
			want: "Name: Alice Example with a longer value Occupation and title: Engineer of many things here City: Berlin, the capital city",
		},
		{name: "nothing", glyphs: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := texts(layout(tt.glyphs)); got != tt.want {
				t.Errorf("layout:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func concat(parts ...[]glyph) []glyph {
	var out []glyph
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestHeadingLevels(t *testing.T) {
	long := strings.Repeat("word ", 60)
	pages := [][]textBlock{
		{
			{text: "Title", size: 24, lines: 1},
			{text: "Section", size: 14, lines: 1},
			{text: "body " + long, size: 10, lines: 5},
			{text: "Big print that goes on " + long, size: 24, lines: 6},
		},
		{
			{text: "Another Section", size: 14.2, lines: 1},
			{text: "small print", size: 11, lines: 1},
			{text: "more body " + long, size: 10, lines: 5},
		},
	}
	h := headingLevels(pages)
	var got []string
	for _, blocks := range pages {
		for _, b := range blocks {
			got = append(got, fmt.Sprintf("%s=%d", strings.Fields(b.text)[0], h.level(b)))
		}
	}
	want := "[Title=1 Section=2 body=0 Big=0 Another=2 small=0 more=0]"
	if fmt.Sprint(got) != want {
		t.Errorf("levels = %v, want %v", got, want)
	}
}

func TestTurn(t *testing.T) {
	r := rect{10, 20, 30, 25}
	for n := range 4 {
		got, w, h := turn(r, 100, 200, n)
		back, w2, h2 := turn(got, w, h, -n)
		if back != r || w2 != 100 || h2 != 200 {
			t.Errorf("turn %d and back = %+v %vx%v, want %+v 100x200", n, back, w2, h2, r)
		}
	}
	// One clockwise turn takes the top-left corner to the top right.
	if got, w, h := turn(rect{0, 0, 10, 5}, 100, 200, 1); got != (rect{195, 0, 200, 10}) || w != 200 || h != 100 {
		t.Errorf("turn 1 = %+v %vx%v", got, w, h)
	}
}

func TestQuarterTurns(t *testing.T) {
	tests := []struct {
		name   string
		dx, dy float64
		want   int
	}{
		{"left to right", 1, 0, 0},
		{"top to bottom", 0, 1, 1},
		{"right to left", -1, 0, 2},
		{"bottom to top", 0, -1, 3},
		{"slightly tilted", 1, 0.1, 0},
		{"degenerate", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quarterTurns(tt.dx, tt.dy); got != tt.want {
				t.Errorf("quarterTurns(%v, %v) = %d, want %d", tt.dx, tt.dy, got, tt.want)
			}
		})
	}
}
