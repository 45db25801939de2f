package main

import (
	"context"
	"time"
)

// A closed loop measures latency at saturation: each client sends as soon
// as its last answer came, so the edge always has clients*1 requests
// queued and every microsecond of CPU a route costs comes back as queueing
// delay. A latency budget "at N clients" means something below saturation,
// at a load the edge carries: an open loop offers a fixed rate, whatever
// the answers, and a route that costs more shows it as a longer service
// time, or as a queue when the rate is more than it can carry.
//
// A request's latency runs from when it was due, not from when a client
// got to send it: when every client is busy the request waits, and that
// wait is the edge falling behind, which a closed loop would hide
// (coordinated omission).

// schedule sends the due time of every request from start on, one every
// 1/rate, until stop or ctx ends, then closes due. It sends whatever is due
// each time it wakes, so a late wake-up sends a burst rather than dropping
// or shifting requests. It returns at stop, not at the last request due, so
// that the phase's window is the schedule's.
func schedule(ctx context.Context, due chan<- time.Time, start, stop time.Time, rate float64) {
	defer close(due)
	interval := float64(time.Second) / rate
	at := func(i int) time.Time { return start.Add(time.Duration(float64(i) * interval)) }
	timer := time.NewTimer(time.Until(start))
	defer timer.Stop()
	for i := 0; ; {
		next := at(i)
		if next.After(stop) {
			next = stop
		}
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		if !next.Before(stop) {
			return
		}
		for now := time.Now(); ; i++ {
			next = at(i)
			if next.After(now) || !next.Before(stop) {
				break
			}
			select {
			case due <- next:
			case <-ctx.Done():
				return
			}
		}
	}
}

// runOpenClient sends the requests it takes from due until due is closed
// or ctx ends: the one due at t to do[route(t)], its result recorded in
// r[route(t)].
func runOpenClient(ctx context.Context, do []func(context.Context) outcome, route func(time.Time) int, fatal func(int, outcome) bool, measureStart time.Time, due <-chan time.Time, r []clientResult) {
	for i := range r {
		r[i].init()
	}
	for at := range due {
		if ctx.Err() != nil {
			return
		}
		i := route(at)
		o := do[i](ctx)
		if !r[i].record(ctx, o, at, time.Now(), measureStart) || (!o.ok && fatal(i, o)) {
			return
		}
	}
}
