package main

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// measured is a phase report of n successful requests in one second: the
// p99 and every slower request take slow, the rest typical.
func measured(name string, n int, typical, slow time.Duration) *phaseReport {
	lat := make([]time.Duration, n)
	p99rank := int(math.Ceil(0.99 * float64(n)))
	for i := range lat {
		lat[i] = typical
		if i >= p99rank-1 {
			lat[i] = slow
		}
	}
	start := time.Now()
	return newPhaseReport(&phaseResult{
		spec:         phaseSpec{name: name, endpoint: "GET /x", clients: 100},
		measureStart: start,
		measureEnd:   start.Add(time.Second),
		latency:      summarize(lat),
		errors:       errorCounts{},
		warmupErrors: errorCounts{},
	})
}

func withErrors(p *phaseReport, kind, example string, n int) *phaseReport {
	e := errorCounts{}
	for range n {
		e.add(kind, example)
	}
	p.Errors, p.ErrorKinds = e.total(), e.sorted()
	return p
}

func TestChainFinish(t *testing.T) {
	ms1 := time.Millisecond
	none := math.NaN()
	// A saturated pair that passes anything: the fixed-rate pair decides.
	satBase := func() *phaseReport { return measured("baseline", 100, 2*ms1, 10*ms1) }
	satChain := func() *phaseReport { return measured("chain", 80, 2*ms1, 10*ms1) }
	tests := []struct {
		name          string
		baseline      *phaseReport // saturated
		chain         *phaseReport
		fixed         *chainComparison // fixed rate; nil: did not run
		added         time.Duration    // -chain-p99-added
		minRatio      float64          // -chain-min-ratio
		wantPass      bool
		wantAddedP99  float64 // ms at the fixed rate; none: no comparison
		wantSatP99    float64 // ms at saturation; none: no comparison
		wantRatio     float64 // saturated throughput ratio
		wantReasonHas []string
	}{
		{
			name:     "within budget at the fixed rate passes however slow saturated",
			baseline: measured("baseline", 200, 2*ms1, 10*ms1),
			chain:    measured("chain", 60, 20*ms1, 40*ms1),
			fixed:    fixedPair(100, ms1, 3*ms1, ms1+300*time.Microsecond, 3*ms1+500*time.Microsecond),
			added:    ms1,
			wantPass: true, wantAddedP99: 0.5, wantSatP99: 30, wantRatio: 0.3,
		},
		{
			name:     "exactly at the budget passes",
			baseline: satBase(), chain: satChain(),
			fixed:    fixedPair(100, ms1, 3*ms1, ms1, 4*ms1),
			added:    ms1,
			wantPass: true, wantAddedP99: 1, wantSatP99: 0, wantRatio: 0.8,
		},
		{
			name:     "a nanosecond over the p99 budget fails",
			baseline: satBase(), chain: satChain(),
			fixed:        fixedPair(100, ms1, 3*ms1, ms1, 4*ms1+time.Nanosecond),
			added:        ms1,
			wantAddedP99: 1.000001, wantSatP99: 0, wantRatio: 0.8,
			wantReasonHas: []string{"at 100 req/s: adds +1.00ms at p99 (4.00ms against 3.00ms) > 1ms"},
		},
		{
			name:     "end to end judges: within budget in the edge fails when slow end to end, and says both",
			baseline: satBase(), chain: satChain(),
			fixed:        withInEdge(fixedPair(100, ms1, 3*ms1, ms1, 30*ms1), 0.2, 0.6),
			added:        ms1,
			wantAddedP99: 27, wantSatP99: 0, wantRatio: 0.8,
			wantReasonHas: []string{"at 100 req/s: adds +27.0ms at p99 (30.0ms against 3.00ms) > 1ms; in the edge's handlers +0.40ms (0.60ms against 0.20ms), by round +0.40ms +0.40ms"},
		},
		{
			name:     "end to end judges: over budget in the edge passes when fast end to end",
			baseline: satBase(), chain: satChain(),
			fixed:    withInEdge(fixedPair(100, ms1, 3*ms1, ms1, 3*ms1), 0.2, 1.5),
			added:    ms1,
			wantPass: true, wantAddedP99: 0, wantSatP99: 0, wantRatio: 0.8,
		},
		{
			name:     "a faster chain adds a negative latency and passes",
			baseline: satBase(), chain: satChain(),
			fixed:    fixedPair(100, ms1, 3*ms1, ms1, 2*ms1),
			added:    ms1,
			wantPass: true, wantAddedP99: -1, wantSatP99: 0, wantRatio: 0.8,
		},
		{
			name:     "a saturated ratio under -chain-min-ratio fails",
			baseline: measured("baseline", 200, 2*ms1, 10*ms1),
			chain:    measured("chain", 98, 2*ms1, 10*ms1),
			fixed:    fixedPair(100, ms1, 3*ms1, ms1, 3*ms1),
			added:    ms1, minRatio: 0.5,
			wantAddedP99: 0, wantSatP99: 0, wantRatio: 0.49,
			wantReasonHas: []string{"keeps 0.49x of the baseline's throughput at saturation (98 against 200 ok/s) < 0.50x"},
		},
		{
			name:     "both budgets missed gives both reasons",
			baseline: measured("baseline", 200, 2*ms1, 10*ms1),
			chain:    measured("chain", 20, 20*ms1, 40*ms1),
			fixed:    fixedPair(100, ms1, 3*ms1, 5*ms1, 33*ms1),
			added:    ms1, minRatio: 0.5,
			wantAddedP99: 30, wantSatP99: 30, wantRatio: 0.1,
			wantReasonHas: []string{"adds +30.0ms at p99", "keeps 0.10x"},
		},
		{
			name:     "an error at the fixed rate fails and shows its answer",
			baseline: satBase(), chain: satChain(),
			fixed: func() *chainComparison {
				f := fixedPair(100, ms1, 3*ms1, ms1, 3*ms1)
				withErrors(f.Chain, "HTTP 503 DEPENDENCY_UNAVAILABLE", "request limits cannot be checked right now", 3)
				return f
			}(),
			added:        ms1,
			wantAddedP99: 0, wantSatP99: 0, wantRatio: 0.8,
			wantReasonHas: []string{`at 100 req/s: 3 of 103 requests failed, most as HTTP 503 DEPENDENCY_UNAVAILABLE (e.g. "request limits cannot be checked right now")`},
		},
		{
			name:         "an error at saturation fails too",
			baseline:     satBase(),
			chain:        withErrors(satChain(), "HTTP 503 DEPENDENCY_UNAVAILABLE", "request limits cannot be checked right now", 2),
			fixed:        fixedPair(100, ms1, 3*ms1, ms1, 3*ms1),
			added:        ms1,
			wantAddedP99: 0, wantSatP99: 0, wantRatio: 0.8,
			wantReasonHas: []string{"2 of 82 requests failed"},
		},
		{
			name:     "an aborted chain measures nothing",
			baseline: satBase(),
			chain: func() *phaseReport {
				p := withErrors(measured("chain", 10, ms1, ms1), "HTTP 401 UNAUTHENTICATED", "the API key is not valid", 1)
				p.Aborted = &errorCount{Kind: "HTTP 401 UNAUTHENTICATED", Count: 1, Example: "the API key is not valid"}
				return p
			}(),
			added:         ms1,
			wantAddedP99:  none,
			wantSatP99:    none,
			wantReasonHas: []string{`stopped at the first HTTP 401 UNAUTHENTICATED ("the API key is not valid")`},
		},
		{
			name:          "a chain that did not run fails",
			baseline:      satBase(),
			added:         ms1,
			wantAddedP99:  none,
			wantSatP99:    none,
			wantReasonHas: []string{"the chain phase did not run"},
		},
		{
			name:     "fixed-rate phases that did not run fail",
			baseline: satBase(), chain: satChain(),
			added:         ms1,
			wantAddedP99:  none,
			wantSatP99:    0,
			wantRatio:     0.8,
			wantReasonHas: []string{"the fixed-rate phases did not run"},
		},
		{
			name:     "no completed request at the fixed rate fails",
			baseline: satBase(), chain: satChain(),
			fixed:         &chainComparison{Baseline: measured("baseline@100/s", 100, ms1, 3*ms1), Chain: measured("chain@100/s", 0, 0, 0)},
			added:         ms1,
			wantAddedP99:  none,
			wantSatP99:    0,
			wantRatio:     0.8,
			wantReasonHas: []string{"at 100 req/s: no request completed in the measured window (baseline 100, chain 0)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config{chainP99Added: tt.added, chainMinRatio: tt.minRatio}
			c := &chainReport{Clients: 100, Baseline: tt.baseline, Chain: tt.chain, OfferedRPS: 100, FixedRate: tt.fixed}
			c.finish(cfg)
			if c.Pass != tt.wantPass {
				t.Errorf("pass = %v, want %v; reasons %v", c.Pass, tt.wantPass, c.Reasons)
			}
			if c.Pass != (len(c.Reasons) == 0) {
				t.Errorf("pass %v with reasons %v", c.Pass, c.Reasons)
			}
			reasons := strings.Join(c.Reasons, "; ")
			for _, want := range tt.wantReasonHas {
				if !strings.Contains(reasons, want) {
					t.Errorf("reasons %q lack %q", reasons, want)
				}
			}
			if math.IsNaN(tt.wantSatP99) {
				if c.AddedMS != nil || c.ThroughputRatio != nil {
					t.Errorf("saturated added %+v, ratio %v for a chain that measured nothing", c.AddedMS, c.ThroughputRatio)
				}
			} else {
				if c.AddedMS == nil || c.ThroughputRatio == nil {
					t.Fatalf("saturated added %+v, ratio %v", c.AddedMS, c.ThroughputRatio)
				}
				if !near(c.AddedMS.P99, tt.wantSatP99) || !near(*c.ThroughputRatio, tt.wantRatio) {
					t.Errorf("saturated added p99 %gms, ratio %g; want %gms, %g", c.AddedMS.P99, *c.ThroughputRatio, tt.wantSatP99, tt.wantRatio)
				}
			}
			f := c.FixedRate
			if math.IsNaN(tt.wantAddedP99) {
				if f != nil && f.AddedMS != nil {
					t.Errorf("fixed-rate added %+v for phases that measured nothing", f.AddedMS)
				}
			} else {
				if f == nil || f.AddedMS == nil || f.ThroughputRatio == nil {
					t.Fatalf("fixed rate %+v", f)
				}
				if !near(f.AddedMS.P99, tt.wantAddedP99) {
					t.Errorf("fixed-rate added p99 = %gms, want %gms", f.AddedMS.P99, tt.wantAddedP99)
				}
			}
			if c.P99AddedTargetMS != ms(tt.added) || c.MinThroughputRatio != tt.minRatio {
				t.Errorf("targets %gms, %g", c.P99AddedTargetMS, c.MinThroughputRatio)
			}
			if !strings.HasPrefix(c.summary(), map[bool]string{true: "chain: PASS", false: "chain: FAIL"}[tt.wantPass]) {
				t.Errorf("summary %q", c.summary())
			}
		})
	}
}

// withInEdge gives f's phases the edge's own p99s, baseP99 and chainP99
// in ms, the same in each of two rounds.
func withInEdge(f *chainComparison, baseP99, chainP99 float64) *chainComparison {
	f.Baseline.InEdgeMS = &inEdgeMS{Count: 100, P50: baseP99 / 2, P99: baseP99, TurnsP99: []float64{baseP99, baseP99}}
	f.Chain.InEdgeMS = &inEdgeMS{Count: 100, P50: chainP99 / 2, P99: chainP99, TurnsP99: []float64{chainP99, chainP99}}
	return f
}

// fixedPair is a fixed-rate comparison of n requests a second on each
// route, each with its typical and its p99 latency.
func fixedPair(n int, baseTypical, baseP99, chainTypical, chainP99 time.Duration) *chainComparison {
	return &chainComparison{
		Baseline: measured("baseline@100/s", n, baseTypical, baseP99),
		Chain:    measured("chain@100/s", n, chainTypical, chainP99),
	}
}

// TestChainVerdict checks that the chain's reasons reach the run's verdict
// and that a run without the chain says so when it was asked for.
func TestChainVerdict(t *testing.T) {
	ms1 := time.Millisecond
	passingSubmit := func() *phaseReport { return measured("submit", 100, 5*ms1, 20*ms1) }
	tests := []struct {
		name         string
		chainClients int
		chain        *chainReport
		wantPass     bool
		wantReason   string
	}{
		{
			name:         "a passing chain keeps the run passing",
			chainClients: 100,
			chain: &chainReport{Baseline: measured("baseline", 100, 2*ms1, 10*ms1), Chain: measured("chain", 90, 2*ms1, 12*ms1),
				OfferedRPS: 50, FixedRate: fixedPair(50, ms1, 3*ms1, ms1, 3*ms1)},
			wantPass: true,
		},
		{
			name:         "a slow chain fails the run",
			chainClients: 100,
			chain: &chainReport{Baseline: measured("baseline", 100, 2*ms1, 10*ms1), Chain: measured("chain", 90, 2*ms1, 10*ms1),
				OfferedRPS: 50, FixedRate: fixedPair(50, ms1, 3*ms1, ms1, 5*ms1)},
			wantReason: "chain: at 50 req/s: adds +2.00ms at p99",
		},
		{
			name:         "a chain asked for and missing fails the run",
			chainClients: 100,
			wantReason:   "the chain phase did not run",
		},
		{
			name:     "no chain asked for, none needed",
			wantPass: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config{p99Target: 50 * ms1, chainClients: tt.chainClients, chainP99Added: ms1}
			r := &report{Chain: tt.chain, Submit: passingSubmit()}
			if tt.chain != nil {
				r.Baseline = tt.chain.Baseline
			}
			r.finish(cfg, false)
			if r.Verdict.Pass != tt.wantPass {
				t.Errorf("pass = %v, want %v; reasons %v", r.Verdict.Pass, tt.wantPass, r.Verdict.Reasons)
			}
			if got := strings.Join(r.Verdict.Reasons, "; "); !strings.Contains(got, tt.wantReason) {
				t.Errorf("reasons %q lack %q", got, tt.wantReason)
			}
			if tt.chain != nil && !strings.Contains(r.table(), "chain: ") {
				t.Errorf("the table lacks the chain's verdict:\n%s", r.table())
			}
		})
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

// TestRoundsAdded: with the phases taken in rounds, the comparison reports
// the added p99 round by round and their median, and the verdict's text
// carries them; a pooled p99 over rounds is still what is judged.
func TestRoundsAdded(t *testing.T) {
	ms1 := time.Millisecond
	base := measured("baseline@5/s", 100, ms1, 4*ms1)
	chain := measured("chain@5/s", 100, ms1, 9*ms1)
	base.TurnsP99MS = []float64{4, 5, 3, 4}
	chain.TurnsP99MS = []float64{4.5, 5.5, 12, 4.5}
	x := &chainComparison{Baseline: base, Chain: chain}
	x.compare()
	if want := []float64{0.5, 0.5, 9, 0.5}; !slices.Equal(x.RoundsAddedP99MS, want) {
		t.Fatalf("rounds = %v, want %v", x.RoundsAddedP99MS, want)
	}
	if x.MedianRoundAddedP99MS == nil || *x.MedianRoundAddedP99MS != 0.5 {
		t.Fatalf("median = %v, want 0.5", x.MedianRoundAddedP99MS)
	}
	if note := x.roundsNote(); note != "; by round +0.50ms +0.50ms +9.00ms +0.50ms, median +0.50ms" {
		t.Errorf("note = %q", note)
	}
	// Turn counts that do not pair up give no rounds.
	chain.TurnsP99MS = chain.TurnsP99MS[:3]
	x.compare()
	if x.RoundsAddedP99MS != nil || x.MedianRoundAddedP99MS != nil || x.roundsNote() != "" {
		t.Errorf("unpaired turns: %v %v", x.RoundsAddedP99MS, x.MedianRoundAddedP99MS)
	}
	if got := median([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("median of an even count = %v, want 2.5", got)
	}
}

// TestChainFinishPaired: with paired phases, they judge the fixed-rate
// p99 and the turns are reported beside it; errors in either still fail.
func TestChainFinishPaired(t *testing.T) {
	ms1 := time.Millisecond
	paired := func(chainP99 time.Duration) *chainComparison {
		return &chainComparison{
			Baseline: measured("paired-baseline@50/s", 100, ms1, 3*ms1),
			Chain:    measured("paired-chain@50/s", 100, ms1, chainP99),
		}
	}
	tests := []struct {
		name          string
		turns, paired *chainComparison
		wantPass      bool
		wantReasonHas []string
		wantSummary   string
	}{
		{
			name:        "paired within budget passes though the turns are over it",
			turns:       fixedPair(100, ms1, 3*ms1, ms1, 9*ms1),
			paired:      paired(3*ms1 + 600*time.Microsecond),
			wantPass:    true,
			wantSummary: "chain: PASS (at 100 req/s paired adds +0.60ms at p99 <= 1.00ms, no errors; in turns: adds +6.00ms at p99",
		},
		{
			name:          "paired over budget fails though the turns are within it",
			turns:         fixedPair(100, ms1, 3*ms1, ms1, 3*ms1),
			paired:        paired(5 * ms1),
			wantReasonHas: []string{"at 100 req/s paired: adds +2.00ms at p99 (5.00ms against 3.00ms) > 1ms"},
		},
		{
			name:          "an error in the turns fails even when paired passes",
			turns:         withErrorsIn(fixedPair(100, ms1, 3*ms1, ms1, 3*ms1)),
			paired:        paired(3 * ms1),
			wantReasonHas: []string{"at 100 req/s in turns: 2 of 102 requests failed"},
		},
		{
			name:          "paired alone judges",
			paired:        paired(6 * ms1),
			wantReasonHas: []string{"at 100 req/s paired: adds +3.00ms at p99"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &chainReport{Clients: 100, Baseline: measured("baseline", 100, 2*ms1, 10*ms1), Chain: measured("chain", 80, 2*ms1, 10*ms1),
				OfferedRPS: 100, FixedRate: tt.turns, Paired: tt.paired}
			c.finish(&config{chainP99Added: ms1})
			if c.Pass != tt.wantPass {
				t.Fatalf("pass = %v, want %v; reasons %v", c.Pass, tt.wantPass, c.Reasons)
			}
			reasons := strings.Join(c.Reasons, "; ")
			for _, want := range tt.wantReasonHas {
				if !strings.Contains(reasons, want) {
					t.Errorf("reasons %q lack %q", reasons, want)
				}
			}
			if tt.wantSummary != "" && !strings.HasPrefix(c.summary(), tt.wantSummary) {
				t.Errorf("summary %q, want it to start %q", c.summary(), tt.wantSummary)
			}
			if c.Paired.AddedMS == nil || (tt.turns != nil && c.FixedRate.AddedMS == nil) {
				t.Errorf("added: paired %+v, turns %+v", c.Paired.AddedMS, c.FixedRate)
			}
		})
	}
}

// withErrorsIn gives f's chain phase two 503s.
func withErrorsIn(f *chainComparison) *chainComparison {
	withErrors(f.Chain, "HTTP 503 DEPENDENCY_UNAVAILABLE", "request limits cannot be checked right now", 2)
	return f
}
