package ocr

import (
	"strings"
	"testing"
)

// layout lays text out as a recogniser would see it: every character
// spikes 3 frames after the previous one and inks 16 of the 24 pixels those
// frames cover; a space in text is not emitted but leaves 3 more blank
// frames. Characters in dropped are not emitted either, only their gap.
func layout(text string, withInk bool) recResult {
	r := recResult{frameW: 8, height: 48}
	f := 0
	for _, c := range text {
		if c == ' ' {
			f += 3
			continue
		}
		r.chars = append(r.chars, ctcChar{label: string(c), first: f, end: f + 1, prob: 0.9})
		f += 3
	}
	if withInk {
		r.ink = make([]bool, 8*f)
		for _, c := range r.chars {
			for x := 8 * c.first; x < 8*c.first+16; x++ {
				r.ink[x] = true
			}
		}
	}
	return r
}

func TestSpaceRecovery(t *testing.T) {
	on := SpaceRecovery{GapFactor: 1.5, MinBlankFrames: 2, MinInkGap: 0.16, InkGapFactor: 1.8, StrongInkGap: 1.5}
	off := on
	off.Disabled = true
	tests := []struct {
		name  string
		s     SpaceRecovery
		text  string
		ink   bool
		want  string
		model string // a space the model emitted itself, kept as is
	}{
		{name: "ink gap", s: on, text: "two words here", ink: true, want: "two words here"},
		{name: "frames only", s: on, text: "two words here", want: "two words here"},
		{name: "no gap", s: on, text: "twowordshere", ink: true, want: "twowordshere"},
		{name: "disabled", s: off, text: "two words here", ink: true, want: "twowordshere"},
		{name: "cjk never spaced", s: on, text: "中文 文本 测试", ink: true, want: "中文文本测试"},
		{name: "no space before punctuation", s: on, text: "end . next ,x", ink: true, want: "end. next,x"},
		{name: "no space after opening bracket", s: on, text: "( abc ) def", ink: true, want: "(abc) def"},
		{name: "full-width punctuation next to latin", s: on, text: "ab！ cd，ef", ink: true, want: "ab! cd,ef"},
		{name: "full-width punctuation in cjk", s: on, text: "中文！文", ink: true, want: "中文！文"},
		{name: "too short to tell", s: on, text: "a b", ink: true, want: "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, conf := tt.s.text(layout(tt.text, tt.ink))
			if got != tt.want {
				t.Fatalf("text(%q) = %q, want %q", tt.text, got, tt.want)
			}
			if conf < 0.89 || conf > 0.91 {
				t.Fatalf("confidence %v, want 0.9", conf)
			}
		})
	}
}

func TestSpaceRecoveryKeepsModelSpaces(t *testing.T) {
	s := SpaceRecovery{GapFactor: 1.5, MinBlankFrames: 2, MinInkGap: 0.16, InkGapFactor: 1.8, StrongInkGap: 1.5}
	r := layout("ab cd", true)
	// The model emitted the space itself: put it in the gap.
	sp := ctcChar{label: " ", first: 7, end: 8, prob: 0.9}
	r.chars = append(r.chars[:2], append([]ctcChar{sp}, r.chars[2:]...)...)
	if got, _ := s.text(r); got != "ab cd" {
		t.Fatalf("text = %q, want %q", got, "ab cd")
	}
}

func TestCTCDecode(t *testing.T) {
	labels := []string{"", "a", "b", " "}
	// frames: a a blank a b b space b
	seq := []int{1, 1, 0, 1, 2, 2, 3, 2}
	probs := make([]float32, len(seq)*len(labels))
	for t, c := range seq {
		probs[t*len(labels)+c] = 0.8
	}
	chars := ctcDecode(probs, len(seq), len(labels), labels)
	var b strings.Builder
	for _, c := range chars {
		b.WriteString(c.label)
	}
	if got := b.String(); got != "aab b" {
		t.Fatalf("decoded %q, want %q", got, "aab b")
	}
	if chars[0].first != 0 || chars[0].end != 2 || chars[2].first != 4 || chars[2].end != 6 {
		t.Fatalf("frames %+v", chars)
	}
}
