package ocr

// ctcChar is one character emitted by greedy CTC decoding, with the frames
// it spans and the probability of its first frame.
type ctcChar struct {
	label      string
	first, end int // frames [first, end)
	prob       float32
}

// spaceClass returns the index of the space class in labels, or -1 when
// the dictionary has none. PaddleOCR appends it last.
func spaceClass(labels []string) int {
	for c := len(labels) - 1; c > 0; c-- {
		if labels[c] == " " {
			return c
		}
	}
	return -1
}

// classProbs returns the probability of class in every frame, or nil for
// class -1.
func classProbs(probs []float32, frames, classes, class int) []float32 {
	if class < 0 {
		return nil
	}
	out := make([]float32, frames)
	for t := range out {
		out[t] = probs[t*classes+class]
	}
	return out
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
