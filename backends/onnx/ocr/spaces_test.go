package ocr

import (
	"math"
	"testing"
)

// synth describes a line as the recogniser would see it. Every character
// spikes in one frame three frames (24 pixels) after the previous one and
// inks the first 16 of those pixels, leaving letter gaps of 8. In text, ' '
// is a word gap: three more blank frames (an ink gap of 32) where the
// space class reaches wordProb. '~' is a word gap as slanted type leaves
// it, no wider in ink than a letter gap but with wordProb; '_' is a wide gap
// inside a word, as around a monospaced 'l', one more blank frame (an ink
// gap of 16) with no rise of the space class. Everywhere else the space
// class stays at letterProb.
type synth struct {
	text                 string
	wordProb, letterProb float32
	// noInk leaves out the ink profile, as for a crop without contrast;
	// noSpaceClass the space probabilities, as for a dictionary without a
	// space class.
	noInk, noSpaceClass bool
}

func (s synth) result() recResult {
	r := recResult{frameW: 8, height: 48}
	type span struct{ from, to int }
	var words []span
	f := 0
	for _, c := range s.text {
		switch c {
		case ' ':
			words = append(words, span{f, f + 3})
			f += 3
		case '~':
			words = append(words, span{f - 1, f})
		case '_':
			f++
		default:
			r.chars = append(r.chars, ctcChar{label: string(c), first: f, end: f + 1, prob: 0.9})
			f += 3
		}
	}
	if !s.noInk {
		r.ink = make([]bool, 8*f)
		for _, c := range r.chars {
			for x := 8 * c.first; x < 8*c.first+16; x++ {
				r.ink[x] = true
			}
		}
	}
	if !s.noSpaceClass {
		r.space = make([]float32, f)
		for t := range r.space {
			r.space[t] = s.letterProb
		}
		for _, w := range words {
			for t := w.from; t < w.to; t++ {
				r.space[t] = s.wordProb
			}
		}
	}
	return r
}

// defaultSpaces is the engine's default configuration.
var defaultSpaces = SpaceRecovery{SpaceProb: 0.003, InkWeight: 2, MinInkGap: 0.16}

func TestSpaceRecovery(t *testing.T) {
	off := defaultSpaces
	off.Disabled = true
	tests := []struct {
		name string
		s    SpaceRecovery
		line synth
		want string
	}{
		{name: "probability and ink agree", s: defaultSpaces, line: synth{text: "two words here", wordProb: 0.05, letterProb: 1e-5}, want: "two words here"},
		{name: "probability alone", s: defaultSpaces, line: synth{text: "two words here", wordProb: 0.05, letterProb: 1e-5, noInk: true}, want: "two words here"},
		{name: "ink alone", s: defaultSpaces, line: synth{text: "two words here", noSpaceClass: true}, want: "two words here"},
		{name: "neither signal", s: defaultSpaces, line: synth{text: "two words here", noInk: true, noSpaceClass: true}, want: "twowordshere"},
		{name: "no gaps", s: defaultSpaces, line: synth{text: "twowordshere", letterProb: 1e-5}, want: "twowordshere"},
		{name: "disabled", s: off, line: synth{text: "two words here", wordProb: 0.05, letterProb: 1e-5}, want: "twowordshere"},
		{name: "wide ink gap inside a word", s: defaultSpaces, line: synth{text: "smal_ler hal_ls ful_l", wordProb: 0.05, letterProb: 1e-5}, want: "smaller halls full"},
		{name: "wide ink gap inside a word, ink alone", s: defaultSpaces, line: synth{text: "smal_ler hal_ls ful_l", noSpaceClass: true}, want: "smaller halls full"},
		{name: "doubtful probability, word-wide ink gap", s: defaultSpaces, line: synth{text: "two words here", wordProb: 0.001, letterProb: 1e-5}, want: "two words here"},
		{name: "doubtful probability everywhere, ink decides", s: defaultSpaces, line: synth{text: "two words here", wordProb: 1e-5, letterProb: 0.001}, want: "two words here"},
		{name: "slanted word gap", s: defaultSpaces, line: synth{text: "two~words here", wordProb: 0.05, letterProb: 1e-5}, want: "two words here"},
		{name: "one word", s: defaultSpaces, line: synth{text: "interna_lly", letterProb: 1e-5}, want: "internally"},
		{name: "cjk never spaced", s: defaultSpaces, line: synth{text: "中文 文本 测试", wordProb: 0.5, letterProb: 1e-5}, want: "中文文本测试"},
		{name: "no space before punctuation", s: defaultSpaces, line: synth{text: "end . next ,x", wordProb: 0.05, letterProb: 1e-5}, want: "end. next,x"},
		{name: "no space after opening bracket", s: defaultSpaces, line: synth{text: "( abc ) def", wordProb: 0.05, letterProb: 1e-5}, want: "(abc) def"},
		{name: "full-width punctuation next to latin", s: defaultSpaces, line: synth{text: "ab！ cd，ef", wordProb: 0.05, letterProb: 1e-5}, want: "ab! cd,ef"},
		{name: "full-width punctuation in cjk", s: defaultSpaces, line: synth{text: "中文！文", wordProb: 0.05, letterProb: 1e-5}, want: "中文！文"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, conf := tt.s.text(tt.line.result())
			if got != tt.want {
				t.Fatalf("text(%q) = %q, want %q", tt.line.text, got, tt.want)
			}
			if conf < 0.89 || conf > 0.91 {
				t.Fatalf("confidence %v, want 0.9", conf)
			}
		})
	}
}

func TestSpaceRecoveryKeepsModelSpaces(t *testing.T) {
	tests := []struct {
		name string
		s    SpaceRecovery
	}{
		{name: "enabled", s: defaultSpaces},
		{name: "disabled", s: SpaceRecovery{Disabled: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The model emitted the space itself, in the gap, though its
			// ink and the space class between the letters say nothing.
			r := synth{text: "abcd", letterProb: 1e-5}.result()
			sp := ctcChar{label: " ", first: 4, end: 5, prob: 0.9}
			r.chars = append(r.chars[:2], append([]ctcChar{sp}, r.chars[2:]...)...)
			if got, _ := tt.s.text(r); got != "ab cd" {
				t.Fatalf("text = %q, want %q", got, "ab cd")
			}
		})
	}
}

func TestSplitGaps(t *testing.T) {
	const minWord = 0.16 * 48
	tests := []struct {
		name         string
		gaps         []float64
		letter, word float64
	}{
		{name: "letters and words", gaps: []float64{8, 9, 7, 30, 8, 8, 32, 9, 7, 31}, letter: 8, word: 31},
		{name: "touching letters", gaps: []float64{0, 0, 12, 0, 0, 12, 0}, letter: 0, word: 12},
		{name: "one word", gaps: []float64{8, 9, 8, 7, 8, 12}, letter: 8, word: 16},
		{name: "one word of tight letters", gaps: []float64{2, 1, 2, 3, 2}, letter: 2, word: minWord},
		{name: "word class too narrow", gaps: []float64{1, 1, 1, 5, 5}, letter: 1, word: minWord},
		{name: "one gap", gaps: []float64{20}, letter: 20, word: 40},
		{name: "equal gaps", gaps: []float64{0, 0, 0}, letter: 0, word: minWord},
		{name: "none", gaps: nil, letter: 0, word: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitGaps(tt.gaps, minWord)
			if math.Abs(got.letter-tt.letter) > 0.5 || math.Abs(got.word-tt.word) > 0.5 {
				t.Fatalf("splitGaps(%v) = %+v, want letter %v, word %v", tt.gaps, got, tt.letter, tt.word)
			}
		})
	}
}

func TestOtsu(t *testing.T) {
	tests := []struct {
		name   string
		v      []float64
		lo, hi float64
		ok     bool
	}{
		{name: "two clusters", v: []float64{1, 2, 3, 10, 11, 12}, lo: 2, hi: 11, ok: true},
		{name: "outlier", v: []float64{5, 5, 5, 5, 40}, lo: 5, hi: 40, ok: true},
		{name: "constant", v: []float64{4, 4, 4}},
		{name: "single", v: []float64{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, ok := otsu(tt.v)
			if ok != tt.ok || ok && (math.Abs(lo-tt.lo) > 1e-9 || math.Abs(hi-tt.hi) > 1e-9) {
				t.Fatalf("otsu(%v) = %v, %v, %v; want %v, %v, %v", tt.v, lo, hi, ok, tt.lo, tt.hi, tt.ok)
			}
		})
	}
}
