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
}
