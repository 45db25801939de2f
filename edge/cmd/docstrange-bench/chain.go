package main

import (
	"fmt"
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
// authn, authz, rate limit) against the bare GET /api/v1/ping at the same
// concurrency, one right after the other in the same run. Added latency is
// a difference, not a ratio, because the target is an absolute budget per
// request.
type chainReport struct {
	Clients  int            `json:"clients"`
	Identity *chainIdentity `json:"identity,omitempty"`
	Baseline *phaseReport   `json:"baseline"`
	Chain    *phaseReport   `json:"chain,omitempty"`
	// AddedMS is the chain's latency minus the baseline's, statistic by
	// statistic; null until both phases completed a request.
	AddedMS *latencyAdded `json:"added_ms"`
	// ThroughputRatio is the chain's successful requests per second over
	// the baseline's.
	ThroughputRatio    *float64 `json:"throughput_ratio"`
	P99AddedTargetMS   float64  `json:"p99_added_target_ms"`
	MinThroughputRatio float64  `json:"min_throughput_ratio"`
	Pass               bool     `json:"pass"`
	Reasons            []string `json:"reasons,omitempty"`
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

// finish computes the added latency, the throughput ratio and the chain's
// verdict: it passes when every chain request got a 2xx, the p99 grew by
// at most -chain-p99-added and the throughput kept at least
// -chain-min-ratio of the baseline's.
func (c *chainReport) finish(cfg *config) {
	c.P99AddedTargetMS = ms(cfg.chainP99Added)
	c.MinThroughputRatio = cfg.chainMinRatio
	c.Reasons = nil
	fail := func(format string, args ...any) { c.Reasons = append(c.Reasons, fmt.Sprintf(format, args...)) }

	defer func() { c.Pass = len(c.Reasons) == 0 }()
	b, ch := c.Baseline, c.Chain
	switch {
	case b == nil || ch == nil:
		fail("the chain phase did not run")
		return
	case ch.Aborted != nil:
		fail("stopped at the first %s (%q): the key or its tier cannot carry the load, so nothing was measured", ch.Aborted.Kind, ch.Aborted.Example)
		return
	case ch.Errors > 0:
		top := ch.ErrorKinds[0]
		fail("%d of %d requests failed, most as %s (e.g. %q)", ch.Errors, ch.Errors+ch.Count, top.Kind, top.Example)
	}
	if b.Count == 0 || ch.Count == 0 {
		fail("no request completed in the measured window (baseline %d, chain %d)", b.Count, ch.Count)
		return
	}

	c.AddedMS = &latencyAdded{
		Mean: ms(ch.lat.Mean - b.lat.Mean),
		P50:  ms(ch.lat.P50 - b.lat.P50),
		P95:  ms(ch.lat.P95 - b.lat.P95),
		P99:  ms(ch.lat.P99 - b.lat.P99),
	}
	c.ThroughputRatio = ratioPtr(ch.RPS, b.RPS)
	if added := ch.lat.P99 - b.lat.P99; added > cfg.chainP99Added {
		fail("adds %s at p99 (%s against %s) > %s", fmtAdded(ms(added)), fmtMS(ch.LatencyMS.P99), fmtMS(b.LatencyMS.P99), cfg.chainP99Added)
	}
	switch x := c.ThroughputRatio; {
	case x == nil:
		fail("the baseline has no throughput to compare with")
	case *x < cfg.chainMinRatio:
		fail("keeps %.2fx of the baseline's throughput (%.0f against %.0f ok/s) < %.2fx", *x, ch.RPS, b.RPS, cfg.chainMinRatio)
	}
}

// summary is the chain's one-line verdict.
func (c *chainReport) summary() string {
	if !c.Pass {
		return fmt.Sprintf("chain: FAIL (%s)", strings.Join(c.Reasons, "; "))
	}
	return fmt.Sprintf("chain: PASS (adds %s at p99 <= %s, keeps %.2fx of the baseline's throughput >= %.2fx, no errors)",
		fmtAdded(c.AddedMS.P99), fmtMS(c.P99AddedTargetMS), *c.ThroughputRatio, c.MinThroughputRatio)
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
	}
	add(r.Baseline)
	add(r.Submit)
	return out
}

// chainPhaseSpecs are the chain comparison's two phases at -chain-clients.
// The baseline is named after its concurrency when the submit phase gets a
// baseline of its own, so that the two are told apart.
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
