package ocr

import (
	"slices"
	"strings"
)

// ctcChar is one character emitted by greedy CTC decoding, with the frames
// it spans and the probability of its first frame.
type ctcChar struct {
	label      string
	first, end int // frames [first, end)
	prob       float32
}

// ctcDecode takes the arg-max class of every frame, merges repeats and drops
// blanks (class 0).
func ctcDecode(probs []float32, frames, classes int, labels []string) []ctcChar {
	var out []ctcChar
	prev := -1
	for t := range frames {
		row := probs[t*classes : (t+1)*classes]
		best := 0
		for c, p := range row {
			if p > row[best] {
				best = c
			}
		}
		switch {
		case best == prev && best != 0:
			out[len(out)-1].end = t + 1
		case best != 0:
			out = append(out, ctcChar{label: labels[best], first: t, end: t + 1, prob: row[best]})
		}
		prev = best
	}
	return out
}

// SpaceRecovery inserts the spaces the recogniser drops between words. The
// Chinese/Latin PP-OCR model often reads "two words" as "twowords". Two
// signals recover them. The CTC frames: inside a word the next character
// starts about one pitch after the previous one, across a word gap later.
// And the ink: a word gap is an ink-free stretch of the crop clearly wider
// than the line's usual gap between letters. Frames are 8 pixels wide and
// CTC spikes sit only roughly on their glyphs, so "a m" and "am" can look
// alike in frames; the ink decides, and the frames only break ties.
type SpaceRecovery struct {
	// Disabled turns recovery off. Default false.
	Disabled bool `json:"disabled,omitempty"`
	// GapFactor is how many character pitches (the line's 35th percentile
	// of frame distances between character starts) a character must start
	// after the previous one for a moderate ink gap to count as a space, or
	// for any gap when the crop has no usable ink profile. Default 1.5.
	GapFactor float64 `json:"gap_factor,omitempty"`
	// MinBlankFrames is the least number of blank frames between the two
	// characters, used only when the crop has no usable ink profile.
	// Default 2.
	MinBlankFrames int `json:"min_blank_frames,omitempty"`
	// MinInkGap is the least ink-free width between the two characters, as
	// a fraction of the crop height. Default 0.16.
	MinInkGap float64 `json:"min_ink_gap,omitempty"`
	// InkGapFactor is how many times the line's median ink-free width
	// between letters the gap must also reach. Default 1.8.
	InkGapFactor float64 `json:"ink_gap_factor,omitempty"`
	// StrongInkGap is how many times the needed ink gap makes a space on its
	// own, whatever the frames say. Default 1.5.
	StrongInkGap float64 `json:"strong_ink_gap,omitempty"`
}

// text joins the decoded characters, inserting recovered spaces, and returns
// the text and the mean probability of the model's own characters.
func (s SpaceRecovery) text(r recResult) (string, float32) {
	chars := r.chars
	if len(chars) == 0 {
		return "", 0
	}
	var sum float32
	for _, c := range chars {
		sum += c.prob
	}
	conf := sum / float32(len(chars))
	labels := make([]string, len(chars))
	for i := range chars {
		labels[i] = latinPunct(chars, i)
	}
	var b strings.Builder
	pitch, inkGap := s.stats(r)
	for i, l := range labels {
		if i > 0 && !s.Disabled && pitch > 0 {
			p := labels[i-1]
			if p != " " && l != " " && isSpaced(p) && isSpaced(l) && canEndWord(p) && canStartWord(l) &&
				s.isGap(r, chars[i-1], chars[i], pitch, inkGap) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(l)
	}
	return strings.TrimSpace(b.String()), conf
}

// isGap decides whether a space belongs between p and c.
func (s SpaceRecovery) isGap(r recResult, p, c ctcChar, pitch, need float64) bool {
	framesApart := float64(c.first-p.first) >= s.GapFactor*pitch
	run := float64(r.blankRun(p, c))
	switch {
	case run < 0:
		return framesApart && c.first-p.end >= s.MinBlankFrames
	case run >= s.StrongInkGap*need:
		return true
	default:
		return run >= need && framesApart
	}
}

// stats returns the line's character pitch in frames and the ink-free width
// a word gap needs, from the pairs of characters not split by a space the
// model emitted itself.
func (s SpaceRecovery) stats(r recResult) (pitch, inkGap float64) {
	var dist, runs []float64
	for i := 1; i < len(r.chars); i++ {
		p, c := r.chars[i-1], r.chars[i]
		if c.label == " " || p.label == " " {
			continue
		}
		dist = append(dist, float64(c.first-p.first))
		if run := r.blankRun(p, c); run >= 0 {
			runs = append(runs, float64(run))
		}
	}
	if len(dist) < 2 {
		return 0, 0
	}
	inkGap = s.MinInkGap * float64(r.height)
	if len(runs) > 0 {
		inkGap = max(inkGap, s.InkGapFactor*quantile(runs, 0.5))
	}
	return quantile(dist, 0.35), inkGap
}

// quantile returns the q-quantile of v (nearest rank), sorting v.
func quantile(v []float64, q float64) float64 {
	slices.Sort(v)
	return v[min(int(q*float64(len(v))), len(v)-1)]
}

// canEndWord reports whether a space may follow label: not after opening
// brackets, quotes or joiners, which monospaced fonts surround with blank.
func canEndWord(label string) bool {
	return !strings.ContainsAny(label, "([{-/_@#$")
}

// canStartWord reports whether a space may precede label: not before
// closing punctuation or joiners.
func canStartWord(label string) bool {
	return !strings.ContainsAny(label, ".,;:!?)]}%-/_@")
}

// latinPunct returns the label of chars[i], turning the dictionary's
// full-width punctuation (U+FF01 to U+FF5E, as Chinese text uses) into its
// ASCII form when a neighbouring character is Latin.
func latinPunct(chars []ctcChar, i int) string {
	l := chars[i].label
	r := []rune(l)
	if len(r) != 1 || r[0] < 0xFF01 || r[0] > 0xFF5E {
		return l
	}
	for _, j := range []int{i - 1, i + 1} {
		if j >= 0 && j < len(chars) && isLatin(chars[j].label) {
			return string(r[0] - 0xFF01 + '!')
		}
	}
	return l
}

func isLatin(label string) bool {
	for _, r := range label {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return true
		}
	}
	return false
}

// isSpaced reports whether label belongs to a script that separates words
// with spaces; CJK text does not, and must not get spaces inserted.
func isSpaced(label string) bool {
	for _, r := range label {
		switch {
		case r >= 0x2E80 && r <= 0x9FFF, r >= 0xAC00 && r <= 0xD7AF, r >= 0xF900 && r <= 0xFAFF, r >= 0xFF00 && r <= 0xFFEF:
			return false
		}
	}
	return true
}

// blankRun is the longest run of ink-free columns between the frame centres
// of a and b, or -1 when the crop has no ink profile.
func (r recResult) blankRun(a, b ctcChar) int {
	if r.ink == nil {
		return -1
	}
	x0 := int((float64(a.first) + 0.5) * r.frameW)
	x1 := min(int((float64(b.first)+0.5)*r.frameW), len(r.ink))
	best, run := 0, 0
	for x := max(x0, 0); x < x1; x++ {
		if r.ink[x] {
			run = 0
			continue
		}
		run++
		best = max(best, run)
	}
	return best
}
