package main

import "strings"

// normalize collapses every run of white space, line breaks included, to
// one space and trims the ends, so that line and paragraph breaks do not
// count as errors but a missing or extra space between words does.
func normalize(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// editDistance is the Levenshtein distance between a and b in runes.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(y)]
}

// cerCount is the edits and reference runes of one comparison, so that
// pages can be summed into a character error rate over all their text.
type cerCount struct {
	Edits int `json:"edits"`
	Chars int `json:"chars"`
}

// compare counts the edits that turn the whitespace-normalised got into
// the normalised want.
func compare(got, want string) cerCount {
	w := normalize(want)
	return cerCount{Edits: editDistance(normalize(got), w), Chars: len([]rune(w))}
}

func (c cerCount) add(o cerCount) cerCount {
	return cerCount{Edits: c.Edits + o.Edits, Chars: c.Chars + o.Chars}
}

// rate is the character error rate: edits over reference characters.
func (c cerCount) rate() float64 {
	return float64(c.Edits) / float64(max(c.Chars, 1))
}
