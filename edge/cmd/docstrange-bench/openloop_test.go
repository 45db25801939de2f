package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestOpenLoop runs open-loop phases against a route that takes a fixed
// time. Only what the schedule fixes is checked exactly (how many requests
// are due); latencies are checked from below, which sleeping guarantees.
func TestOpenLoop(t *testing.T) {
	tests := []struct {
		name     string
		clients  int
		rate     float64
		warmup   time.Duration
		duration time.Duration
		service  time.Duration
		// wantDue is every request due in warmup+duration; wantMeasured
		// those due after the warmup.
		wantDue, wantMeasured int
		// wantMaxAtLeast is a latency some request must have had.
		wantMaxAtLeast time.Duration
	}{
		{
			name:    "clients to spare: every request due is sent",
			clients: 8, rate: 200, warmup: 100 * time.Millisecond, duration: 250 * time.Millisecond,
			service: time.Millisecond,
			wantDue: 70, wantMeasured: 50,
			wantMaxAtLeast: time.Millisecond,
		},
		{
			// One client taking 20ms each carries 50 a second; offered 100
			// a second for half a second, the last of 50 requests is due at
			// 490ms and sent after the 49 before it, at 980ms at the
			// earliest. A closed loop would time it at 20ms.
			name:    "a queue behind busy clients counts as latency",
			clients: 1, rate: 100, duration: 500 * time.Millisecond,
			service: 20 * time.Millisecond,
			wantDue: 50, wantMeasured: 50,
			wantMaxAtLeast: 480 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Int64
			res := runPhase(t.Context(), phaseSpec{
				name: "open", clients: tt.clients, rate: tt.rate, warmup: tt.warmup, duration: tt.duration,
				do: func(ctx context.Context) outcome {
					sent.Add(1)
					time.Sleep(tt.service)
					return outcome{ok: true, status: 200}
				},
			})
			if got := int(sent.Load()); got != tt.wantDue {
				t.Errorf("%d requests sent; want the %d due", got, tt.wantDue)
			}
			if res.latency.Count != tt.wantMeasured || res.warmupOK != tt.wantDue-tt.wantMeasured {
				t.Errorf("%d measured, %d in warmup; want %d and %d", res.latency.Count, res.warmupOK, tt.wantMeasured, tt.wantDue-tt.wantMeasured)
			}
			if res.latency.Min < tt.service {
				t.Errorf("min latency %v < the route's %v", res.latency.Min, tt.service)
			}
			if res.latency.Max < tt.wantMaxAtLeast {
				t.Errorf("max latency %v; want at least %v", res.latency.Max, tt.wantMaxAtLeast)
			}
			if res.window() < tt.duration {
				t.Errorf("window %v shorter than the phase's %v", res.window(), tt.duration)
			}
		})
	}
}

// TestOpenLoopStops: a fatal answer stops an open-loop phase, as it does a
// closed one, and nothing more is sent once every client has left.
func TestOpenLoopStops(t *testing.T) {
	var sent atomic.Int64
	res := runPhase(t.Context(), phaseSpec{
		name: "open", clients: 4, rate: 1000, duration: 10 * time.Second,
		do: func(ctx context.Context) outcome {
			if sent.Add(1) == 20 {
				return outcome{status: 429, kind: "HTTP 429 RATE_LIMIT_EXCEEDED", example: "slow down"}
			}
			return outcome{ok: true, status: 200}
		},
		fatal: setupError,
	})
	if res.aborted == nil || res.aborted.status != 429 {
		t.Fatalf("aborted %+v; want the 429", res.aborted)
	}
	if res.window() >= 10*time.Second {
		t.Errorf("window %v: the phase ran on after the abort", res.window())
	}
}
