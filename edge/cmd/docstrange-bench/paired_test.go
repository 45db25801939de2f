package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestPairedPhases: the paired phases split the rate and the clients in
// two and run as one load, the routes' requests alternating.
func TestPairedPhases(t *testing.T) {
	cfg := &config{chainClients: 5, duration: 400 * time.Millisecond}
	base, chain := pairedPhaseSpecs(cfg, nil, 100)
	if base.rate != 50 || chain.rate != 50 || base.clients != 2 || chain.clients != 3 {
		t.Fatalf("rates %g, %g and clients %d, %d; want 50/s each from 2 and 3", base.rate, chain.rate, base.clients, chain.clients)
	}
	if base.endpoint != "GET /api/v1/ping" || chain.endpoint != "GET /api/v1/me" || chain.fatal == nil {
		t.Fatalf("endpoints %q, %q, chain fatal set %v", base.endpoint, chain.endpoint, chain.fatal != nil)
	}

	type call struct {
		route string
		at    time.Time
	}
	var mu sync.Mutex
	var calls []call
	do := func(route string) func(context.Context) outcome {
		return func(context.Context) outcome {
			mu.Lock()
			calls = append(calls, call{route, time.Now()})
			mu.Unlock()
			return outcome{ok: true, status: 200}
		}
	}
	base.do, chain.do = do("ping"), do("me")
	base.scrape, chain.scrape = nil, nil
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rb, rc := runPaired(context.Background(), log, base, chain)
	if rb.latency.Count < 15 || rc.latency.Count < 15 {
		t.Fatalf("counts %d and %d; want about 20 each", rb.latency.Count, rc.latency.Count)
	}
	slices.SortFunc(calls, func(a, b call) int { return a.at.Compare(b.at) })
	// Taken in turns, the routes would switch once; paired, they switch
	// all along (less than every time when a late schedule sends a burst
	// that the clients take in any order).
	switches := 0
	for i := 1; i < len(calls); i++ {
		if calls[i].route != calls[i-1].route {
			switches++
		}
	}
	if switches < len(calls)/4 {
		t.Errorf("%d switches between routes in %d requests: the phases did not run interleaved", switches, len(calls))
	}
	if d := rb.latency.Count - rc.latency.Count; d < -1 || d > 1 {
		t.Errorf("ping %d, me %d: the routes should take every other request", rb.latency.Count, rc.latency.Count)
	}
}

// TestRoutesNeedOneRate: routes of different rates cannot share one
// alternating schedule, nor can closed loops.
func TestRoutesNeedOneRate(t *testing.T) {
	base, chain := pairedPhaseSpecs(&config{chainClients: 2, duration: time.Millisecond}, nil, 100)
	for name, change := range map[string]func(*phaseSpec){
		"rates":       func(s *phaseSpec) { s.rate *= 2 },
		"closed loop": func(s *phaseSpec) { s.rate = 0 },
		"durations":   func(s *phaseSpec) { s.duration *= 2 },
	} {
		c := chain
		change(&c)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("different %s ran together", name)
				}
			}()
			runRoutes(t.Context(), []phaseSpec{base, c})
		}()
	}
}

// TestPairedAbort: a chain stopped by a setup error stops the paired load,
// and the abort is reported on the chain.
func TestPairedAbort(t *testing.T) {
	cfg := &config{chainClients: 2, duration: 200 * time.Millisecond}
	base, chain := pairedPhaseSpecs(cfg, nil, 100)
	base.do = func(context.Context) outcome { return outcome{ok: true, status: 200} }
	chain.do = func(context.Context) outcome {
		return outcome{status: 401, kind: "HTTP 401 UNAUTHENTICATED", example: "the API key is not valid"}
	}
	base.scrape, chain.scrape = nil, nil
	rb, rc := runPaired(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), base, chain)
	if rc.aborted == nil || rc.aborted.status != 401 {
		t.Fatalf("chain aborted = %+v, want the 401", rc.aborted)
	}
	if rb.aborted != nil || rb.window() >= 200*time.Millisecond {
		t.Errorf("baseline aborted %+v, window %v: it should stop early, not aborted itself", rb.aborted, rb.window())
	}
}
