package main

import (
	"slices"
	"testing"
	"time"
)

func millis(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func seq(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(n-i) * time.Millisecond // reversed: summarize must sort
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{name: "empty", in: nil, p: 99, want: 0},
		{name: "one value is every percentile", in: millis(7), p: 99, want: 7 * time.Millisecond},
		{name: "p0 is the minimum", in: millis(1, 2, 3), p: 0, want: time.Millisecond},
		{name: "p100 is the maximum", in: millis(1, 2, 3), p: 100, want: 3 * time.Millisecond},
		{name: "median of four is the lower middle", in: millis(1, 2, 3, 4), p: 50, want: 2 * time.Millisecond},
		{name: "median of five", in: millis(1, 2, 3, 4, 5), p: 50, want: 3 * time.Millisecond},
		{name: "p99 of 100 is the 99th", in: sortedSeq(100), p: 99, want: 99 * time.Millisecond},
		{name: "p99 of 1000 is the 990th", in: sortedSeq(1000), p: 99, want: 990 * time.Millisecond},
		{name: "p99 of 101 rounds up to the max", in: sortedSeq(101), p: 99, want: 100 * time.Millisecond},
		{name: "p95 of 20", in: sortedSeq(20), p: 95, want: 19 * time.Millisecond},
		{name: "p50 of 1000", in: sortedSeq(1000), p: 50, want: 500 * time.Millisecond},
		{name: "no interpolation", in: millis(10, 1000), p: 75, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(p%g) = %s, want %s", tt.p, got, tt.want)
			}
		})
	}
}

func sortedSeq(n int) []time.Duration {
	s := seq(n)
	slices.Sort(s)
	return s
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want latencySummary
	}{
		{name: "empty", in: nil, want: latencySummary{}},
		{
			name: "unsorted 1..100",
			in:   seq(100),
			want: latencySummary{
				Count: 100, Min: time.Millisecond, Mean: 50500 * time.Microsecond,
				P50: 50 * time.Millisecond, P95: 95 * time.Millisecond,
				P99: 99 * time.Millisecond, Max: 100 * time.Millisecond,
			},
		},
		{
			name: "one slow outlier owns p99 of 100 only at the max",
			in:   append(millis(make([]int, 99)...), time.Second),
			want: latencySummary{Count: 100, Mean: 10 * time.Millisecond, Max: time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name   string
		a, b   float64
		want   float64
		wantOK bool
	}{
		{name: "plain", a: 3, b: 2, want: 1.5, wantOK: true},
		{name: "zero baseline", a: 3, b: 0, wantOK: false},
		{name: "zero submit", a: 0, b: 2, want: 0, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ratio(tt.a, tt.b)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ratio(%g, %g) = %g, %v; want %g, %v", tt.a, tt.b, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestErrorCounts(t *testing.T) {
	a := errorCounts{}
	a.add("HTTP 500 INTERNAL_ERROR", "first")
	a.add("HTTP 500 INTERNAL_ERROR", "second")
	a.add("transport timeout", "slow")
	b := errorCounts{}
	b.add("transport timeout", "other")
	b.add("transport timeout", "other")
	b.add("HTTP 429 RATE_LIMIT_EXCEEDED", "busy")

	a.merge(b)
	if got := a.total(); got != 6 {
		t.Errorf("total() = %d, want 6", got)
	}
	want := []errorCount{
		{Kind: "transport timeout", Count: 3, Example: "slow"},
		{Kind: "HTTP 500 INTERNAL_ERROR", Count: 2, Example: "first"},
		{Kind: "HTTP 429 RATE_LIMIT_EXCEEDED", Count: 1, Example: "busy"},
	}
	if got := a.sorted(); !slices.Equal(got, want) {
		t.Errorf("sorted() = %+v, want %+v", got, want)
	}
	if b["HTTP 429 RATE_LIMIT_EXCEEDED"] == a["HTTP 429 RATE_LIMIT_EXCEEDED"] {
		t.Error("merge shared a counter with its source")
	}
}
