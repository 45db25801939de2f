package main

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// latencySummary describes one phase's latencies. The percentiles are exact:
// every duration is kept and sorted, which at a few hundred thousand
// requests costs a few megabytes and no approximation error.
type latencySummary struct {
	Count int
	Min   time.Duration
	Mean  time.Duration
	P50   time.Duration
	P95   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// summarize sorts d in place and describes it. An empty d gives the zero
// summary.
func summarize(d []time.Duration) latencySummary {
	if len(d) == 0 {
		return latencySummary{}
	}
	slices.Sort(d)
	var sum float64
	for _, v := range d {
		sum += float64(v)
	}
	return latencySummary{
		Count: len(d),
		Min:   d[0],
		Mean:  time.Duration(sum / float64(len(d))),
		P50:   percentile(d, 50),
		P95:   percentile(d, 95),
		P99:   percentile(d, 99),
		Max:   d[len(d)-1],
	}
}

// percentile is the nearest-rank percentile of sorted: the smallest value
// such that at least p percent of the values are at or below it. It never
// interpolates, so the p99 is a latency some request really had.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// ratio is a/b, and false when b is zero, so that a missing baseline never
// prints as a ratio of infinity.
func ratio(a, b float64) (float64, bool) {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0, false
	}
	return a / b, true
}

// errorCounts counts failures by kind and keeps the first message of each
// kind as an example. Each client owns one; they are merged after the phase.
type errorCounts map[string]*errorCount

type errorCount struct {
	Kind    string `json:"kind"`
	Count   int    `json:"count"`
	Example string `json:"example,omitempty"`
}

func (e errorCounts) add(kind, example string) {
	if c, ok := e[kind]; ok {
		c.Count++
		return
	}
	e[kind] = &errorCount{Kind: kind, Count: 1, Example: example}
}

func (e errorCounts) merge(o errorCounts) {
	for kind, c := range o {
		if mine, ok := e[kind]; ok {
			mine.Count += c.Count
			continue
		}
		cp := *c
		e[kind] = &cp
	}
}

func (e errorCounts) total() int {
	n := 0
	for _, c := range e {
		n += c.Count
	}
	return n
}

// sorted lists the kinds by count, largest first.
func (e errorCounts) sorted() []errorCount {
	out := make([]errorCount, 0, len(e))
	for _, c := range e {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b errorCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	return out
}
