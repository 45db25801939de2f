package main

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
)

// chainIdentity is who GET /api/v1/me says the bench is, checked once
// before the chain phase.
type chainIdentity struct {
	Kind   string `json:"kind"`
	Tenant string `json:"tenant"`
	Tier   string `json:"tier"`
	KeyID  string `json:"key_id,omitempty"`
	// RateLimit is the RateLimit-Limit header of that answer: the requests
	// per period the tier allows.
	RateLimit string `json:"rate_limit,omitempty"`
}

// chainReport is what the auth chain costs: GET /api/v1/me (request id,
// authn, authz, rate limit) against the bare GET /api/v1/ping from the same
// number of clients, taking turns in the same run (alternate.go), under two
// loads.
//
// Saturated (closed loop, Baseline and Chain): each client sends as soon as
// its last answer came. It measures how much the chain costs the edge's
// throughput; its latencies are mostly queueing behind the other clients,
// so they are reported but judge nothing.
//
// Fixed rate (open loop): both routes are offered the same requests per
// second, RateFraction of the saturated baseline's throughput (or
// -chain-rate), from the same clients. This is where a latency budget per
// request means something. Taken in turns (FixedRate) it is reported;
// paired (Paired, paired.go), it is judged. Added latency is a difference,
// not a ratio, because the target is an absolute budget per request.
type chainReport struct {
	Clients  int            `json:"clients"`
	Identity *chainIdentity `json:"identity,omitempty"`
	// Baseline and Chain are the saturated phases.
	Baseline *phaseReport `json:"baseline"`
	Chain    *phaseReport `json:"chain,omitempty"`
	// AddedMS is the saturated chain's latency minus its baseline's,
	// statistic by statistic; null until both phases completed a request.
	AddedMS *latencyAdded `json:"added_ms"`
	// ThroughputRatio is the saturated chain's successful requests per
	// second over its baseline's.
	ThroughputRatio *float64 `json:"throughput_ratio"`
	// RateFraction is the share of the saturated baseline's throughput the
	// fixed-rate phases offer; 0 when -chain-rate set the rate.
	RateFraction float64 `json:"rate_fraction,omitempty"`
	// OfferedRPS is the requests per second both fixed-rate phases offer.
	OfferedRPS float64 `json:"offered_requests_per_s"`
	// FixedRate is the two routes taking turns at OfferedRPS: reported.
	FixedRate *chainComparison `json:"fixed_rate,omitempty"`
	// Paired is the two routes at once, each at half of OfferedRPS from
	// half of the clients (paired.go): the latency verdict's.
	Paired *chainComparison `json:"paired,omitempty"`
	// P99AddedTargetMS judges the fixed-rate phases; MinThroughputRatio,
	// when above zero, the saturated ones.
	P99AddedTargetMS   float64  `json:"p99_added_target_ms"`
	MinThroughputRatio float64  `json:"min_throughput_ratio"`
	Pass               bool     `json:"pass"`
	Reasons            []string `json:"reasons,omitempty"`
}

// chainComparison is the chain against its baseline under one load.
type chainComparison struct {
	Baseline *phaseReport `json:"baseline"`
	Chain    *phaseReport `json:"chain,omitempty"`
	// AddedMS is null until both phases completed a request.
	AddedMS         *latencyAdded `json:"added_ms"`
	ThroughputRatio *float64      `json:"throughput_ratio"`
	// RoundsAddedP99MS is, round by round, the chain turn's p99 minus the
	// baseline turn's just before it, and MedianRoundAddedP99MS their
	// median: how much of AddedMS.P99, which pools the rounds, one noisy
	// round makes. Reported, not judged. Absent without rounds.
	RoundsAddedP99MS      []float64 `json:"rounds_added_p99_ms,omitempty"`
	MedianRoundAddedP99MS *float64  `json:"median_round_added_p99_ms,omitempty"`
	// InEdgeAddedP99MS is the chain's p99 minus the baseline's as the edge
	// timed them, and RoundsInEdgeAddedP99MS the same round by round;
	// absent when the edge's histograms were not read.
	InEdgeAddedP99MS       *float64  `json:"in_edge_added_p99_ms,omitempty"`
	RoundsInEdgeAddedP99MS []float64 `json:"rounds_in_edge_added_p99_ms,omitempty"`
}

// latencyAdded is a latency difference in milliseconds; negative when the
// chain was faster.
type latencyAdded struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
}

// setupError reports whether a chain failure means the key or its tier is
// wrong for the load, which no amount of measuring fixes.
func setupError(o outcome) bool {
	switch o.status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return true
	}
	return false
}

// finish computes the added latencies, the throughput ratios and the
// chain's verdict: it passes when every chain request got a 2xx and, at
// the fixed rate, the p99 grew by at most -chain-p99-added (and, when
// -chain-min-ratio is set, the saturated chain kept that share of the
// baseline's throughput).
func (c *chainReport) finish(cfg *config) {
	c.P99AddedTargetMS = ms(cfg.chainP99Added)
	c.MinThroughputRatio = cfg.chainMinRatio
	c.Reasons = nil
	fail := func(format string, args ...any) { c.Reasons = append(c.Reasons, fmt.Sprintf(format, args...)) }
	defer func() { c.Pass = len(c.Reasons) == 0 }()

	saturated := &chainComparison{Baseline: c.Baseline, Chain: c.Chain}
	if !saturated.check("", fail) {
		return
	}
	saturated.compare()
	c.AddedMS, c.ThroughputRatio = saturated.AddedMS, saturated.ThroughputRatio
	if cfg.chainMinRatio > 0 {
		switch x := c.ThroughputRatio; {
		case x == nil:
			fail("the baseline has no throughput to compare with")
		case *x < cfg.chainMinRatio:
			fail("keeps %.2fx of the baseline's throughput at saturation (%.0f against %.0f ok/s) < %.2fx",
				*x, c.Chain.RPS, c.Baseline.RPS, cfg.chainMinRatio)
		}
	}

	if c.FixedRate == nil && c.Paired == nil {
		fail("the fixed-rate phases did not run")
		return
	}
	// Both are checked for errors; the paired phases judge the latency,
	// or the turns when the paired phases did not run.
	judged := c.judged()
	for _, x := range []*chainComparison{c.FixedRate, c.Paired} {
		if x == nil {
			continue
		}
		at := fmt.Sprintf("at %.0f req/s%s: ", c.OfferedRPS, c.label(x))
		if !x.check(at, fail) {
			continue
		}
		x.compare()
		if x != judged {
			continue
		}
		// End to end judges: it is what a client sees. The edge's own
		// timing, beside it, tells the handlers' share from the waits
		// around them.
		if added := x.Chain.lat.P99 - x.Baseline.lat.P99; added > cfg.chainP99Added {
			fail("%sadds %s at p99 (%s against %s) > %s%s%s", at, fmtAdded(ms(added)),
				fmtMS(x.Chain.LatencyMS.P99), fmtMS(x.Baseline.LatencyMS.P99), cfg.chainP99Added, x.roundsNote(), x.inEdgeNote())
		}
	}
}

// judged is the fixed-rate comparison the latency verdict is about: the
// paired one, or the turns when it did not run.
func (c *chainReport) judged() *chainComparison {
	if c.Paired != nil {
		return c.Paired
	}
	return c.FixedRate
}

// label names a fixed-rate comparison in the verdict's text.
func (c *chainReport) label(x *chainComparison) string {
	switch {
	case x == c.Paired:
		return " paired"
	case c.Paired != nil:
		return " in turns"
	}
	return ""
}

// inEdgeNote is the added p99 as the edge timed it, for the verdict's
// text; empty when the edge's histograms were not read.
func (x *chainComparison) inEdgeNote() string {
	if x.InEdgeAddedP99MS == nil {
		return ""
	}
	note := fmt.Sprintf("; in the edge's handlers %s (%s against %s)", fmtAdded(*x.InEdgeAddedP99MS),
		fmtMS(x.Chain.InEdgeMS.P99), fmtMS(x.Baseline.InEdgeMS.P99))
	if len(x.RoundsInEdgeAddedP99MS) > 0 {
		note += ", by round " + fmtRounds(x.RoundsInEdgeAddedP99MS)
	}
	return note
}

// check fails the comparison when its chain phase is missing, was
// stopped, had errors or measured nothing, and reports whether there are
// latencies to compare. prefix starts each reason.
func (x *chainComparison) check(prefix string, fail func(string, ...any)) bool {
	b, ch := x.Baseline, x.Chain
	switch {
	case b == nil || ch == nil:
		fail("%sthe chain phase did not run", prefix)
		return false
	case ch.Aborted != nil:
		fail("%sstopped at the first %s (%q): the key or its tier cannot carry the load, so nothing was measured", prefix, ch.Aborted.Kind, ch.Aborted.Example)
		return false
	case ch.Errors > 0:
		top := ch.ErrorKinds[0]
		fail("%s%d of %d requests failed, most as %s (e.g. %q)", prefix, ch.Errors, ch.Errors+ch.Count, top.Kind, top.Example)
	}
	if b.Count == 0 || ch.Count == 0 {
		fail("%sno request completed in the measured window (baseline %d, chain %d)", prefix, b.Count, ch.Count)
		return false
	}
	return true
}

// compare fills in the added latency and the throughput ratio.
func (x *chainComparison) compare() {
	b, ch := x.Baseline, x.Chain
	x.AddedMS = &latencyAdded{
		Mean: ms(ch.lat.Mean - b.lat.Mean),
		P50:  ms(ch.lat.P50 - b.lat.P50),
		P95:  ms(ch.lat.P95 - b.lat.P95),
		P99:  ms(ch.lat.P99 - b.lat.P99),
	}
	x.ThroughputRatio = ratioPtr(ch.RPS, b.RPS)
	x.RoundsAddedP99MS, x.MedianRoundAddedP99MS = nil, nil
	if n := len(b.TurnsP99MS); n > 1 && n == len(ch.TurnsP99MS) {
		for i := range n {
			x.RoundsAddedP99MS = append(x.RoundsAddedP99MS, ch.TurnsP99MS[i]-b.TurnsP99MS[i])
		}
		m := median(x.RoundsAddedP99MS)
		x.MedianRoundAddedP99MS = &m
	}
	x.InEdgeAddedP99MS, x.RoundsInEdgeAddedP99MS = nil, nil
	if be, ce := b.InEdgeMS, ch.InEdgeMS; be != nil && ce != nil && be.Count > 0 && ce.Count > 0 {
		added := ce.P99 - be.P99
		x.InEdgeAddedP99MS = &added
		if n := len(be.TurnsP99); n > 1 && n == len(ce.TurnsP99) {
			for i := range n {
				x.RoundsInEdgeAddedP99MS = append(x.RoundsInEdgeAddedP99MS, ce.TurnsP99[i]-be.TurnsP99[i])
			}
		}
	}
}

// median is the middle value of v, or the mean of the two middle ones.
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// roundsNote is the added p99 round by round, for the verdict's text;
// empty without rounds.
func (x *chainComparison) roundsNote() string {
	if x.MedianRoundAddedP99MS == nil {
		return ""
	}
	return fmt.Sprintf("; by round %s, median %s", fmtRounds(x.RoundsAddedP99MS), fmtAdded(*x.MedianRoundAddedP99MS))
}

// fmtRounds is one latency difference per round.
func fmtRounds(v []float64) string {
	parts := make([]string, len(v))
	for i, d := range v {
		parts[i] = fmtAdded(d)
	}
	return strings.Join(parts, " ")
}

// summary is the chain's one-line verdict.
func (c *chainReport) summary() string {
	if !c.Pass {
		return fmt.Sprintf("chain: FAIL (%s)", strings.Join(c.Reasons, "; "))
	}
	f := c.judged()
	turns := ""
	if t := c.FixedRate; t != f && t != nil && t.AddedMS != nil {
		turns = fmt.Sprintf("; in turns: adds %s at p99%s", fmtAdded(t.AddedMS.P99), t.roundsNote())
	}
	return fmt.Sprintf("chain: PASS (at %.0f req/s%s adds %s at p99 <= %s%s%s, no errors%s; saturated: adds %s at p99, keeps %.2fx of the baseline's throughput)",
		c.OfferedRPS, c.label(f), fmtAdded(f.AddedMS.P99), fmtMS(c.P99AddedTargetMS), f.roundsNote(), f.inEdgeNote(), turns, fmtAdded(c.AddedMS.P99), *c.ThroughputRatio)
}

// fmtAdded is a signed latency difference.
func fmtAdded(v float64) string {
	if v < 0 {
		return "-" + fmtMS(-v)
	}
	return "+" + fmtMS(v)
}

// phases lists every phase that ran, once each, in run order.
func (r *report) phases() []*phaseReport {
	var out []*phaseReport
	add := func(p *phaseReport) {
		if p != nil && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if c := r.Chain; c != nil {
		add(c.Baseline)
		add(c.Chain)
		for _, f := range []*chainComparison{c.FixedRate, c.Paired} {
			if f != nil {
				add(f.Baseline)
				add(f.Chain)
			}
		}
	}
	add(r.Baseline)
	add(r.Submit)
	return out
}

// chainPhaseSpecs are the chain comparison's two saturated phases at
// -chain-clients. The baseline is named after its concurrency when the
// submit phase gets a baseline of its own, so that the two are told apart.
func chainPhaseSpecs(cfg *config, c *apiClient) (baseline, chain phaseSpec) {
	name := "baseline"
	if cfg.chainClients != cfg.clients {
		name = fmt.Sprintf("baseline@%d", cfg.chainClients)
	}
	baseline = phaseSpec{
		name: name, endpoint: "GET /api/v1/ping",
		clients: cfg.chainClients, warmup: cfg.warmup, duration: cfg.duration,
		do: c.doPing,
	}
	chain = phaseSpec{
		name: "chain", endpoint: "GET /api/v1/me",
		clients: cfg.chainClients, warmup: cfg.warmup, duration: cfg.duration,
		do: c.doMe, fatal: setupError,
	}
	return baseline, chain
}

// offeredRate is the fixed-rate phases' requests per second: -chain-rate,
// or -chain-rate-fraction of the saturated baseline's throughput. It is 0
// when the baseline measured none.
func offeredRate(cfg *config, saturated *phaseReport) (rate, fraction float64) {
	if cfg.chainRate > 0 {
		return cfg.chainRate, 0
	}
	if saturated == nil || saturated.RPS <= 0 {
		return 0, cfg.chainRateFraction
	}
	return math.Round(cfg.chainRateFraction * saturated.RPS), cfg.chainRateFraction
}

// fixedRatePhaseSpecs are the chain comparison's two open-loop phases: both
// routes offered rate requests per second from -chain-clients clients.
func fixedRatePhaseSpecs(cfg *config, c *apiClient, rate float64) (baseline, chain phaseSpec) {
	at := fmt.Sprintf("@%.0f/s", rate)
	baseline = phaseSpec{
		name: "baseline" + at, endpoint: "GET /api/v1/ping",
		clients: cfg.chainClients, rate: rate, warmup: cfg.warmup, duration: cfg.duration,
		do: c.doPing, scrape: c.scrapeEdge, edgeRoute: "GET /api/v1/ping",
	}
	chain = phaseSpec{
		name: "chain" + at, endpoint: "GET /api/v1/me",
		clients: cfg.chainClients, rate: rate, warmup: cfg.warmup, duration: cfg.duration,
		do: c.doMe, fatal: setupError, scrape: c.scrapeEdge, edgeRoute: "GET /api/v1/me",
	}
	return baseline, chain
}
