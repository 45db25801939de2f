package main

import (
	"context"
	"fmt"
	"log/slog"
)

// Paired phases answer what the chain adds to a request, which is what the
// fixed-rate latency budget is about. Taken in turns (alternate.go), the
// chain and its baseline each meet a different few seconds of the machine:
// on a shared two-core machine one turn's p99 moves by several to tens of
// milliseconds either way, more than the budget, so a turn-by-turn
// difference cannot resolve it. Paired, one schedule offers the rate and
// its requests alternate between the routes: ping, me, ping, me, each
// sent by the first free of the same clients over the same connections.
// Every stall, collection and neighbour lands on both alike, and a queue
// that builds up drains in the same order for both, so their difference
// is the chain's own.
//
// The load is the same as one turn's: the rate and the clients in all. The
// CPU the chain adds is carried by both halves here; what it costs the
// edge's capacity is the saturated throughput ratio's to judge, and the
// turns still report what a load of chain requests alone sees.

// pairedPhaseSpecs are the paired phases of rate requests per second in
// all, from -chain-clients clients in all.
func pairedPhaseSpecs(cfg *config, c *apiClient, rate float64) (baseline, chain phaseSpec) {
	half := rate / 2
	clients := max(cfg.chainClients/2, 1)
	at := fmt.Sprintf("@%.0f/s", half)
	baseline = phaseSpec{
		name: "paired-baseline" + at, endpoint: "GET /api/v1/ping",
		clients: clients, rate: half, warmup: cfg.warmup, duration: cfg.duration,
		do: c.doPing, scrape: c.scrapeEdge, edgeRoute: "GET /api/v1/ping",
	}
	chain = phaseSpec{
		name: "paired-chain" + at, endpoint: "GET /api/v1/me",
		clients: cfg.chainClients - clients, rate: half, warmup: cfg.warmup, duration: cfg.duration,
		do: c.doMe, fatal: setupError, scrape: c.scrapeEdge, edgeRoute: "GET /api/v1/me",
	}
	return baseline, chain
}

// runPaired runs a and b together (runRoutes), a's requests first.
func runPaired(ctx context.Context, log *slog.Logger, a, b phaseSpec, extra ...any) (ra, rb *phaseResult) {
	rs := runLoggedRoutes(ctx, log, []phaseSpec{a, b}, extra...)
	for _, r := range rs {
		log.Info("paired phase done", keyPhase, r.spec.name, "ok", r.latency.Count,
			"p50", r.latency.P50, "p99", r.latency.P99)
	}
	return rs[0], rs[1]
}
