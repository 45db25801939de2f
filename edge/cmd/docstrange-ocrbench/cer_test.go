package main

import "testing"

func TestCompare(t *testing.T) {
	tests := []struct {
		name      string
		got, want string
		edits     int
		chars     int
	}{
		{name: "equal", got: "abc", want: "abc", edits: 0, chars: 3},
		{name: "one substitution", got: "abd", want: "abc", edits: 1, chars: 3},
		{name: "missing space", got: "ab c", want: "a b c", edits: 1, chars: 5},
		{name: "extra space", got: "a b c", want: "ab c", edits: 1, chars: 4},
		{name: "line breaks are spaces", got: "one two\nthree", want: "one\ntwo three", edits: 0, chars: 13},
		{name: "paragraph break and indent", got: "  one\n\n\ttwo  ", want: "one two", edits: 0, chars: 7},
		{name: "empty output", got: "", want: "ab", edits: 2, chars: 2},
		{name: "empty reference", got: "ab", want: "", edits: 2, chars: 0},
		{name: "runes not bytes", got: "café’s", want: "café's", edits: 1, chars: 6},
		{name: "transposition is two edits", got: "ba", want: "ab", edits: 2, chars: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := compare(tt.got, tt.want)
			if c.Edits != tt.edits || c.Chars != tt.chars {
				t.Fatalf("compare(%q, %q) = %+v, want %d edits over %d chars", tt.got, tt.want, c, tt.edits, tt.chars)
			}
		})
	}
}

func TestCERRate(t *testing.T) {
	tests := []struct {
		name string
		c    cerCount
		want float64
	}{
		{name: "none", c: cerCount{Edits: 0, Chars: 10}, want: 0},
		{name: "quarter", c: cerCount{Edits: 1, Chars: 4}, want: 0.25},
		{name: "more edits than chars", c: cerCount{Edits: 6, Chars: 3}, want: 2},
		{name: "no reference", c: cerCount{Edits: 2}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.rate(); got != tt.want {
				t.Fatalf("%+v.rate() = %v, want %v", tt.c, got, tt.want)
			}
		})
	}
}

// TestCERSumsPages checks that pages add up by characters, not by
// averaging their rates.
func TestCERSumsPages(t *testing.T) {
	total := compare("abX", "abc").add(compare("0123456789", "0123456789"))
	if total.Edits != 1 || total.Chars != 13 {
		t.Fatalf("sum = %+v, want 1 edit over 13 chars", total)
	}
}
