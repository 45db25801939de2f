package main

import (
	"slices"
	"testing"
	"time"
)

// TestMergeTurns: turns merge into one phase whose latencies are pooled and
// which keeps each turn's own p99 in order.
func TestMergeTurns(t *testing.T) {
	turn := func(lat ...time.Duration) *phaseResult {
		start := time.Now()
		r := &phaseResult{measureStart: start, measureEnd: start.Add(time.Second), latencies: lat,
			errors: errorCounts{}, warmupErrors: errorCounts{}}
		r.latency = summarize(r.latencies)
		return r
	}
	ms := time.Millisecond
	m := merge(phaseSpec{name: "chain"}, []*phaseResult{turn(1*ms, 2*ms, 7*ms), turn(3*ms, 9*ms)})
	if m.slices != 2 || m.latency.Count != 5 || m.latency.Max != 9*ms || m.measured != 2*time.Second {
		t.Fatalf("merged: slices %d, count %d, max %v, measured %v", m.slices, m.latency.Count, m.latency.Max, m.measured)
	}
	if !slices.Equal(m.turnP99, []time.Duration{7 * ms, 9 * ms}) {
		t.Errorf("turn p99s = %v", m.turnP99)
	}
	if got := newPhaseReport(m).TurnsP99MS; !slices.Equal(got, []float64{7, 9}) {
		t.Errorf("report turns_p99_ms = %v", got)
	}
	if one := turn(ms); merge(phaseSpec{}, []*phaseResult{one}) != one {
		t.Error("one turn was not returned as it is")
	}

	// The edge's histograms add up, and each turn keeps its own p99.
	a, b := turn(ms), turn(ms)
	a.inEdge = edgeHistogram{0.0001: 99, 0.0004: 1}
	b.inEdge = edgeHistogram{0.0001: 90, 0.002: 10}
	m = merge(phaseSpec{name: "chain"}, []*phaseResult{a, b})
	want := edgeHistogram{0.0001: 189, 0.0004: 1, 0.002: 10}
	if len(m.inEdge) != len(want) || m.inEdge[0.0001] != 189 || m.inEdge[0.0004] != 1 || m.inEdge[0.002] != 10 {
		t.Errorf("merged in-edge histogram %v, want %v", m.inEdge, want)
	}
	if !slices.Equal(m.turnEdgeP99, []time.Duration{100 * time.Microsecond, 2 * ms}) {
		t.Errorf("in-edge turn p99s = %v", m.turnEdgeP99)
	}
	if r := newPhaseReport(m).InEdgeMS; r == nil || r.Count != 200 || r.P99 != 2 || !slices.Equal(r.TurnsP99, []float64{0.1, 2}) {
		t.Errorf("report in_edge_ms = %+v", r)
	}
	// A turn the edge's metrics missed leaves the phase without them.
	b.inEdge = nil
	if m := merge(phaseSpec{name: "chain"}, []*phaseResult{a, b}); m.inEdge != nil || m.turnEdgeP99 != nil || newPhaseReport(m).InEdgeMS != nil {
		t.Errorf("in-edge %v, turns %v with a turn unread", m.inEdge, m.turnEdgeP99)
	}
}
