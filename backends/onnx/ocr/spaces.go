package ocr

import (
	"math"
	"slices"
	"strings"
)

// SpaceRecovery inserts the spaces the recogniser drops between words. The
// Chinese/Latin PP-OCR model often reads "two words" as "twowords", yet its
// space class still rises in the frames between the two words, far above
// its level between letters; that probability is the main signal. The ink
// settles the doubtful cases: each line's ink-free gaps between characters
// are split into two classes, letter gaps and word gaps, so that a gap is
// judged against its own line's font and size rather than a fixed width.
// The frames' positions are no help: CTC spikes sit only roughly on their
// glyphs.
type SpaceRecovery struct {
	// Disabled turns recovery off; the model's own spaces stay. Default
	// false.
	Disabled bool `json:"disabled,omitempty"`
	// SpaceProb is the space-class probability, the highest over the
	// frames between two characters, from which a space is inserted when
	// their ink gap lies halfway between the line's letter and word gaps.
	// Between letters it is typically below 0.0001, between words above
	// 0.01. Default 0.003.
	SpaceProb float64 `json:"space_prob,omitempty"`
	// InkWeight is by how many powers of ten the ink lowers the needed
	// probability per line word gap of ink-free width: with the default, a
	// gap as wide as the line's word gaps needs a tenth of SpaceProb, one
	// as narrow as its letter gaps ten times it. Default 2.
	InkWeight float64 `json:"ink_weight,omitempty"`
	// MinInkGap is the least word gap, as a fraction of the crop height:
	// a line whose wider class of gaps is narrower has no word gaps to
	// learn from. Default 0.16.
	MinInkGap float64 `json:"min_ink_gap,omitempty"`
}

// wordLetterRatio is how many times the mean letter gap a line's mean word
// gap must be for its two-class split to be believed; a line of one word
// splits its letter gaps into two classes that close.
const wordLetterRatio = 2

// minSpaceProb floors the space probability before its logarithm.
const minSpaceProb = 1e-12

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
	var spaceBefore []bool
	if !s.Disabled {
		spaceBefore = s.spaces(r, labels)
	}
	var b strings.Builder
	for i, l := range labels {
		if spaceBefore != nil && spaceBefore[i] {
			b.WriteByte(' ')
		}
		b.WriteString(l)
	}
	return strings.TrimSpace(b.String()), conf
}

// pair is two characters of a line with no other character between them
// but perhaps the model's own spaces.
type pair struct {
	prev, next int // indexes into recResult.chars
	// gap is the ink-free width between them, -1 without an ink profile.
	gap int
}

// spaces reports, per character, whether a recovered space goes before it.
func (s SpaceRecovery) spaces(r recResult, labels []string) []bool {
	var pairs []pair
	var gaps []float64
	prev := -1
	for i, l := range labels {
		if l == " " {
			continue
		}
		if prev >= 0 {
			p := pair{prev: prev, next: i, gap: r.blankRun(r.chars[prev], r.chars[i])}
			pairs = append(pairs, p)
			if p.gap >= 0 {
				gaps = append(gaps, float64(p.gap))
			}
		}
		prev = i
	}
	line := splitGaps(gaps, s.MinInkGap*float64(r.height))
	out := make([]bool, len(labels))
	for _, p := range pairs {
		a, b := labels[p.prev], labels[p.next]
		out[p.next] = p.next == p.prev+1 && isSpaced(a) && isSpaced(b) && canEndWord(a) && canStartWord(b) &&
			s.isSpace(r.spaceProb(r.chars[p.prev], r.chars[p.next]), p.gap, line)
	}
	return out
}

// isSpace weighs the space probability prob (negative when the dictionary
// has no space class) and the ink gap (negative without an ink profile)
// against the line's gaps. Without either signal it says no.
func (s SpaceRecovery) isSpace(prob float64, gap int, line lineGaps) bool {
	var score float64 // powers of ten above the needed probability
	haveProb := prob >= 0
	if haveProb {
		score = math.Log10(max(prob, minSpaceProb)) - math.Log10(s.SpaceProb)
	}
	haveInk := gap >= 0 && line.word > line.letter
	if haveInk {
		score += s.InkWeight * ((float64(gap)-line.letter)/(line.word-line.letter) - 0.5)
	}
	return (haveProb || haveInk) && score >= 0
}

// lineGaps are a line's typical ink-free widths between the letters of a
// word and between words, in columns of the crop.
type lineGaps struct {
	letter, word float64
}

// splitGaps estimates a line's letter and word gaps from all its gaps by
// Otsu's two-class split, the means of the two classes. When the split is
// not convincing (the line may be one word), all gaps count as letter gaps
// and the word gap is assumed at least minWord and wordLetterRatio times
// the median.
func splitGaps(gaps []float64, minWord float64) lineGaps {
	if len(gaps) == 0 {
		return lineGaps{}
	}
	slices.Sort(gaps)
	if lo, hi, ok := otsu(gaps); ok && hi >= wordLetterRatio*max(lo, 1) && hi >= minWord {
		return lineGaps{letter: lo, word: hi}
	}
	letter := gaps[len(gaps)/2]
	return lineGaps{letter: letter, word: max(wordLetterRatio*letter, minWord, letter+1)}
}

// otsu splits sorted v into a lower and an upper class with the largest
// between-class variance and returns the classes' means; ok is false when
// v holds fewer than two distinct values.
func otsu(v []float64) (lo, hi float64, ok bool) {
	var total float64
	for _, x := range v {
		total += x
	}
	n := float64(len(v))
	var below, best float64
	for i := 1; i < len(v); i++ {
		below += v[i-1]
		if v[i] == v[i-1] {
			continue
		}
		n0, n1 := float64(i), n-float64(i)
		m0, m1 := below/n0, (total-below)/n1
		if d := n0 * n1 * (m1 - m0) * (m1 - m0); d > best {
			best, lo, hi, ok = d, m0, m1, true
		}
	}
	return lo, hi, ok
}

// spaceProb is the highest space-class probability from the last frame of
// a to the first of b, or -1 when the dictionary has no space class.
func (r recResult) spaceProb(a, b ctcChar) float64 {
	if r.space == nil {
		return -1
	}
	var p float32
	for t := max(a.end-1, 0); t <= min(b.first, len(r.space)-1); t++ {
		p = max(p, r.space[t])
	}
	return float64(p)
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
