package main

import (
	"math"
	"testing"
)

func samples(wall, engine []float64) []sample {
	out := make([]sample, len(wall))
	for i := range wall {
		out[i] = sample{Page: i, WallMS: wall[i], EngineMS: engine[i], cerCount: cerCount{Edits: i, Chars: 100}}
	}
	return out
}

func TestOverhead(t *testing.T) {
	in := newEngineStats(samples([]float64{1000, 3000}, []float64{990, 2990}))
	pl := newEngineStats(samples([]float64{1050, 3030}, []float64{1000, 3000}))
	o := newOverhead(in, pl)
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("pages/s", in.PagesPerSec, 0.5)
	near("ms/page", in.MSPerPage, 2000)
	near("CER", in.CER, 1.0/200)
	near("overhead ms", o.MSPerPage, 40)
	near("overhead %", o.Percent, 2)
	near("wire ms", o.WireMSPerPage, 40)
	near("wire %", o.WirePercent, 2)
}

func TestJudge(t *testing.T) {
	cfg := &config{speedRatio: 2, maxOverhead: 5}
	result := func(oursPPS, oursCER, tessPPS, tessCER, overheadPct float64) threadResult {
		return threadResult{
			Threads:   1,
			InProcess: engineStats{PagesPerSec: oursPPS, CER: oursCER},
			Overhead:  overhead{Percent: overheadPct},
			Tesseract: &tessStats{engineStats: engineStats{PagesPerSec: tessPPS, CER: tessCER}, PagesPerSecNoStartup: tessPPS},
		}
	}
	tests := []struct {
		name string
		r    threadResult
		want []bool // speed, accuracy, overhead
		pass bool
	}{
		{name: "all met", r: result(2, 0.01, 1, 0.01, 5), want: []bool{true, true, true}, pass: true},
		{name: "too slow", r: result(1.9, 0.01, 1, 0.02, 1), want: []bool{false, true, true}},
		{name: "less accurate", r: result(3, 0.02, 1, 0.01, 1), want: []bool{true, false, true}},
		{name: "plugin too costly", r: result(3, 0.01, 1, 0.01, 5.1), want: []bool{true, true, false}},
		{name: "no tesseract", r: threadResult{Threads: 1}, want: []bool{false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &report{Results: []threadResult{tt.r}}
			rep.judge(cfg)
			if len(rep.Checks) != len(tt.want) {
				t.Fatalf("%d checks, want %d", len(rep.Checks), len(tt.want))
			}
			for i, c := range rep.Checks {
				if c.Pass != tt.want[i] {
					t.Errorf("check %s pass = %v, want %v (%s)", c.Name, c.Pass, tt.want[i], c.Measured)
				}
			}
			if rep.Pass != tt.pass {
				t.Errorf("overall pass = %v, want %v", rep.Pass, tt.pass)
			}
		})
	}
}
