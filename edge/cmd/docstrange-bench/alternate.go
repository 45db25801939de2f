package main

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// runAlternating runs a and b in turns: rounds times a for
// a.duration/rounds then b for as long, the whole warmup before each one's
// first turn and none after. It returns each one's turns merged into one
// result, nil for one that never ran, and stops at the first turn a fatal
// answer cut short.
//
// The machine the bench runs on is often shared: a neighbour that takes
// the CPUs for a few seconds lands on whichever phase runs then. Taken in
// turns, the two phases meet the same neighbours, so their difference is
// the edge's and not the machine's.
func runAlternating(ctx context.Context, log *slog.Logger, a, b phaseSpec, rounds int, extra ...any) (ra, rb *phaseResult) {
	var turns [2][]*phaseResult
	specs := [2]phaseSpec{a, b}
	for round := range rounds {
		for i, spec := range specs {
			if ctx.Err() != nil {
				return merge(a, turns[0]), merge(b, turns[1])
			}
			spec.duration /= time.Duration(rounds)
			if round > 0 {
				spec.warmup = 0
			}
			r := runLogged(ctx, log, spec, append(extra, keyRound, round+1)...)
			log.Info("turn done", keyPhase, spec.name, keyRound, round+1, "ok", r.latency.Count,
				"p50", r.latency.P50, "p99", r.latency.P99)
			turns[i] = append(turns[i], r)
			if r.aborted != nil {
				return merge(a, turns[0]), merge(b, turns[1])
			}
		}
	}
	return merge(a, turns[0]), merge(b, turns[1])
}

// merge is the result of spec's turns as if they were one phase: their
// requests, errors and measured time added up, their CPU use averaged over
// it. One turn is returned as it is.
func merge(spec phaseSpec, turns []*phaseResult) *phaseResult {
	switch len(turns) {
	case 0:
		return nil
	case 1:
		return turns[0]
	}
	m := &phaseResult{
		spec:         spec,
		started:      turns[0].started,
		measureStart: turns[0].measureStart,
		errors:       errorCounts{},
		warmupErrors: errorCounts{},
		slices:       len(turns),
		cpu:          cpuUsage{ClientOK: true, MachineOK: true},
	}
	if !slices.ContainsFunc(turns, func(t *phaseResult) bool { return t.inEdge == nil }) {
		m.inEdge = edgeHistogram{}
		for _, t := range turns {
			m.turnEdgeP99 = append(m.turnEdgeP99, t.inEdge.quantile(0.99))
			for up, n := range t.inEdge {
				m.inEdge[up] += n
			}
		}
	}
	for _, t := range turns {
		m.latencies = append(m.latencies, t.latencies...)
		m.turnP99 = append(m.turnP99, t.latency.P99)
		m.errors.merge(t.errors)
		m.warmupOK += t.warmupOK
		m.warmupErrors.merge(t.warmupErrors)
		m.jobs = append(m.jobs, t.jobs...)
		m.interrupted = m.interrupted || t.interrupted
		if m.aborted == nil {
			m.aborted = t.aborted
		}
		w := t.window()
		m.measured += w
		m.measureEnd = t.measureEnd
		m.cpu.ClientOK = m.cpu.ClientOK && t.cpu.ClientOK
		m.cpu.MachineOK = m.cpu.MachineOK && t.cpu.MachineOK
		m.cpu.ClientCores += t.cpu.ClientCores * w.Seconds()
		m.cpu.MachineBusyCores += t.cpu.MachineBusyCores * w.Seconds()
		m.cpu.MachineCPUs = t.cpu.MachineCPUs
	}
	if s := m.measured.Seconds(); s > 0 {
		m.cpu.ClientCores /= s
		m.cpu.MachineBusyCores /= s
	}
	m.latency = summarize(m.latencies)
	return m
}
