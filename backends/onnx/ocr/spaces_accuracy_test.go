package ocr

import (
	"fmt"
	"strings"
	"testing"
)

// spacedLines are the reference text of TestWordSpaces, chosen for what
// tempts a space recoverer: narrow letters that monospaced type surrounds
// with blank, punctuation inside numbers, overhanging capitals, wide
// letters, and short words.
var spacedLines = []string{
	"Jill will fill all small bottles at the mill.",
	"The total of 1,250.75 was paid at 4:15 pm.",
	"They waved from the tower of the old town hall.",
	"Two tall walls were built in 1917 by a local firm.",
	"If it is so, we may go to it by air or by sea.",
}

// TestWordSpaces renders spacedLines in several fonts and sizes and
// requires every line to come back with its number of words.
func TestWordSpaces(t *testing.T) {
	e := newTestEngine(t, Config{})
	for _, font := range []string{"goregular", "gobold", "goitalic", "gomono"} {
		for _, size := range []float64{16, 21, 28} {
			t.Run(fmt.Sprintf("%s/%vpx", font, size), func(t *testing.T) {
				face := newFace(t, font, size)
				w := 40
				for _, s := range spacedLines {
					w = max(w, textWidth(face, s)+40)
				}
				h := int(float64(len(spacedLines))*size*1.5*1.25) + 40
				res, err := e.Recognize(t.Context(), render(face, w, h, block{x: 20, y: 20, lines: spacedLines}), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Lines) != len(spacedLines) {
					t.Fatalf("got %d lines %q, want %d", len(res.Lines), joined(res), len(spacedLines))
				}
				for i, l := range res.Lines {
					if got, want := len(strings.Fields(l.Text)), len(strings.Fields(spacedLines[i])); got != want {
						t.Errorf("line %d: %d words in %q, want %d in %q", i, got, l.Text, want, spacedLines[i])
					}
				}
			})
		}
	}
}
