package ocr

import (
	"fmt"
	"strings"
	"testing"
)

// sentences are the reference text of the accuracy tests.
var sentences = []string{
	"The quick brown fox jumps over the lazy dog.",
	"Pack my box with five dozen liquor jugs.",
	"Invoice 2024-117 was paid on 3 March for $1,250.00.",
	"Sphinx of black quartz, judge my vow!",
	"Please return the signed contract by Friday.",
	"How vexingly quick daft zebras jump (twice).",
}

// cer is the character error rate: the Levenshtein distance between got and
// want over the length of want.
func cer(got, want string) float64 {
	a, b := []rune(got), []rune(want)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(b)]) / float64(max(len(b), 1))
}

func TestCER(t *testing.T) {
	tests := []struct {
		name      string
		got, want string
		cer       float64
	}{
		{name: "equal", got: "abc", want: "abc", cer: 0},
		{name: "one substitution", got: "abd", want: "abc", cer: 1.0 / 3},
		{name: "missing space", got: "ab c", want: "a b c", cer: 1.0 / 5},
		{name: "empty", got: "", want: "ab", cer: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cer(tt.got, tt.want); got != tt.cer {
				t.Fatalf("cer(%q, %q) = %v, want %v", tt.got, tt.want, got, tt.cer)
			}
		})
	}
}

// joined is the recognised text of res, one line per Line.
func joined(res Result) string {
	var lines []string
	for _, l := range res.Lines {
		lines = append(lines, l.Text)
	}
	return strings.Join(lines, "\n")
}

// TestAccuracy renders the reference sentences in several fonts and sizes
// and requires a character error rate of at most 3% on each page.
func TestAccuracy(t *testing.T) {
	e := newTestEngine(t, Config{})
	want := strings.Join(sentences, "\n")
	var total, errs float64
	for _, font := range []string{"goregular", "gobold", "gomono"} {
		for _, size := range []float64{14, 20, 32} {
			t.Run(fmt.Sprintf("%s/%vpx", font, size), func(t *testing.T) {
				face := newFace(t, font, size)
				w := 40
				for _, s := range sentences {
					w = max(w, textWidth(face, s)+40)
				}
				h := int(float64(len(sentences))*size*1.5*1.25) + 40
				res, err := e.Recognize(t.Context(), render(face, w, h, block{x: 20, y: 20, lines: sentences}), Options{})
				if err != nil {
					t.Fatal(err)
				}
				got := joined(res)
				c := cer(got, want)
				total += float64(len([]rune(want)))
				errs += c * float64(len([]rune(want)))
				t.Logf("CER %.2f%% on %dx%d in %v", 100*c, w, h, res.Timings.Total)
				if c > 0.03 {
					t.Errorf("CER %.2f%% > 3%%:\n got: %q\nwant: %q", 100*c, got, want)
				}
			})
		}
	}
	t.Logf("overall CER %.2f%%", 100*errs/total)
}
