package ocr

import (
	"strings"
	"testing"
)

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

func TestSpaceClass(t *testing.T) {
	tests := []struct {
		name   string
		labels []string
		want   int
	}{
		{name: "appended last", labels: []string{"", "a", "b", " "}, want: 3},
		{name: "none", labels: []string{"", "a", "b"}, want: -1},
		{name: "blank only", labels: []string{""}, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spaceClass(tt.labels); got != tt.want {
				t.Fatalf("spaceClass(%q) = %d, want %d", tt.labels, got, tt.want)
			}
		})
	}
}

func TestClassProbs(t *testing.T) {
	// 2 frames of 3 classes.
	probs := []float32{0.1, 0.2, 0.7, 0.5, 0.4, 0.1}
	if got := classProbs(probs, 2, 3, 2); len(got) != 2 || got[0] != 0.7 || got[1] != 0.1 {
		t.Fatalf("classProbs = %v, want [0.7 0.1]", got)
	}
	if got := classProbs(probs, 2, 3, -1); got != nil {
		t.Fatalf("classProbs without a class = %v, want nil", got)
	}
}
