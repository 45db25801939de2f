package main

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// phaseSpec is one phase, first for warmup (unmeasured) and then for
// duration (measured). Closed loop (rate 0): clients goroutines each send a
// request, wait for the whole answer and send the next, so the load is
// whatever the edge can take. Open loop (rate > 0): a request is due every
// 1/rate whatever the answers, sent by the first of clients free to send
// it (openloop.go).
type phaseSpec struct {
	name     string
	endpoint string
	clients  int
	// rate is the requests per second an open-loop phase offers; 0 for a
	// closed loop.
	rate     float64
	warmup   time.Duration
	duration time.Duration
	do       func(ctx context.Context) outcome
	// fatal, when set, names the failures that mean the run's setup is
	// wrong rather than the edge slow: the first one stops the phase.
	fatal func(outcome) bool
	// scrape, when set, reads the edge's request-duration histograms
	// before and after the phase (edgemetrics.go), and edgeRoute names the
	// phase's route in them.
	scrape    func(context.Context) (map[string]edgeHistogram, error)
	edgeRoute string
}

// acceptedJob is a job the submit phase got back.
type acceptedJob struct {
	id       string
	accepted time.Time
	warmup   bool
}

// phaseResult is what one phase measured. Latencies are those of successful
// requests that started inside the measured window; a request still in
// flight when the window closes is waited for and counted, so the window
// ends at the last answer rather than at the deadline.
type phaseResult struct {
	spec         phaseSpec
	started      time.Time // warmup start
	measureStart time.Time
	measureEnd   time.Time
	latencies    []time.Duration
	latency      latencySummary
	errors       errorCounts
	warmupOK     int
	warmupErrors errorCounts
	jobs         []acceptedJob // every accepted job, warmup included
	cpu          cpuUsage
	interrupted  bool
	aborted      *outcome // the fatal failure that stopped the phase
	// slices is how many turns were merged into this result
	// (alternate.go); 0 for one stretch.
	slices int
	// turnP99 is each merged turn's p99 latency, in turn order; nil for
	// one stretch.
	turnP99 []time.Duration
	// measured is the measured wall time of merged turns, which is not
	// measureEnd-measureStart; 0 for one stretch.
	measured time.Duration
	// inEdge is the phase's 2xx answers as the edge timed them (merged
	// turns' added up), nil when spec.scrape is unset or a read failed; and
	// turnEdgeP99 each merged turn's p99 of them.
	inEdge      edgeHistogram
	turnEdgeP99 []time.Duration
}

// window is the measured wall time.
func (r *phaseResult) window() time.Duration {
	if r.slices > 0 {
		return r.measured
	}
	return r.measureEnd.Sub(r.measureStart)
}

// rps is successful requests per second over the measured window.
func (r *phaseResult) rps() float64 {
	w := r.window()
	if w <= 0 {
		return 0
	}
	return float64(r.latency.Count) / w.Seconds()
}

// clientResult is one client's share; each client owns its own so that the
// hot loop takes no lock.
type clientResult struct {
	latencies    []time.Duration
	errors       errorCounts
	warmupOK     int
	warmupErrors errorCounts
	jobs         []acceptedJob
	lastEnd      time.Time
}

// runPhase runs spec to completion, until parent is done or until a
// request fails in a way spec.fatal names.
func runPhase(parent context.Context, spec phaseSpec) *phaseResult {
	return runRoutes(parent, []phaseSpec{spec})[0]
}

// runRoutes runs specs as one load and returns each one's result. One
// spec runs as runPhase describes. Several must be open loops of the same
// rate, warmup and duration (paired.go): one schedule offers their rates
// added up, the n-th request due is specs[n%len(specs)]'s, and the first
// free of all their clients sends it, so that they share the clients, the
// connections and every wait. A fatal answer stops them all.
func runRoutes(parent context.Context, specs []phaseSpec) []*phaseResult {
	spec := specs[0]
	for _, s := range specs[1:] {
		if s.rate != spec.rate || s.rate == 0 || s.warmup != spec.warmup || s.duration != spec.duration {
			panic("runRoutes: routes run together need one rate (open loop), warmup and duration")
		}
	}
	out := make([]*phaseResult, len(specs))
	for i, s := range specs {
		out[i] = &phaseResult{spec: s, errors: errorCounts{}, warmupErrors: errorCounts{}}
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var abortOnce sync.Once
	fatal := func(route int, o outcome) bool {
		if f := specs[route].fatal; f == nil || !f(o) {
			return false
		}
		abortOnce.Do(func() {
			out[route].aborted = &o
			cancel()
		})
		return true
	}
	started := time.Now()
	measureStart := started.Add(spec.warmup)
	stop := measureStart.Add(spec.duration)

	// The CPU reading starts when the measured window does.
	cpuStart := make(chan cpuSample, 1)
	go func() {
		t := time.NewTimer(time.Until(measureStart))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		cpuStart <- sampleCPU()
	}()

	// results[c][route] is client c's share of route's requests.
	rate, clients := 0.0, 0
	for _, s := range specs {
		rate += s.rate
		clients += s.clients
	}
	results := make([][]clientResult, clients)
	var wg sync.WaitGroup
	if rate > 0 {
		due := make(chan time.Time, clients)
		wg.Go(func() { schedule(ctx, due, started, stop, rate) })
		// The schedule's n-th request is due at started+n*interval.
		interval := float64(time.Second) / rate
		route := func(at time.Time) int {
			return int(math.Round(float64(at.Sub(started))/interval)) % len(specs)
		}
		do := make([]func(context.Context) outcome, len(specs))
		for i, s := range specs {
			do[i] = s.do
		}
		for c := range results {
			results[c] = make([]clientResult, len(specs))
			wg.Go(func() {
				runOpenClient(ctx, do, route, fatal, measureStart, due, results[c])
			})
		}
	} else {
		for c := range results {
			results[c] = make([]clientResult, 1)
			wg.Go(func() {
				runClient(ctx, spec.do, func(o outcome) bool { return fatal(0, o) }, measureStart, stop, &results[c][0])
			})
		}
	}
	wg.Wait()
	end := sampleCPU()
	cpu := end.since(<-cpuStart)
	cut := parent.Err() != nil || slices.ContainsFunc(out, func(r *phaseResult) bool { return r.aborted != nil })
	for route, res := range out {
		res.started, res.measureStart = started, measureStart
		res.cpu = cpu
		res.interrupted = parent.Err() != nil
		res.collect(results, route, stop, end.at, cut)
	}
	return out
}

// collect merges every client's share of route's requests into res. cut
// says the load stopped before stop.
func (res *phaseResult) collect(results [][]clientResult, route int, stop, end time.Time, cut bool) {
	n := 0
	for c := range results {
		n += len(results[c][route].latencies)
	}
	res.latencies = make([]time.Duration, 0, n)
	res.measureEnd = res.measureStart
	for c := range results {
		r := &results[c][route]
		res.latencies = append(res.latencies, r.latencies...)
		res.errors.merge(r.errors)
		res.warmupOK += r.warmupOK
		res.warmupErrors.merge(r.warmupErrors)
		res.jobs = append(res.jobs, r.jobs...)
		if r.lastEnd.After(res.measureEnd) {
			res.measureEnd = r.lastEnd
		}
	}
	if cut || res.measureEnd.Before(stop) {
		// Nothing answered after the deadline (or the phase was cut short):
		// the window is as long as the load really ran.
		limit := stop
		if end.Before(limit) {
			limit = end
		}
		if limit.After(res.measureEnd) {
			res.measureEnd = limit
		}
	}
	// Clients appended their own jobs; the drain polls the oldest first,
	// so the merged list must be in acceptance order, as the edge's FIFO
	// queue runs them.
	slices.SortStableFunc(res.jobs, func(a, b acceptedJob) int { return a.accepted.Compare(b.accepted) })
	res.latency = summarize(res.latencies)
}

func runClient(ctx context.Context, do func(context.Context) outcome, fatal func(outcome) bool, measureStart, stop time.Time, r *clientResult) {
	r.init()
	for ctx.Err() == nil {
		start := time.Now()
		if !start.Before(stop) {
			return
		}
		o := do(ctx)
		if !r.record(ctx, o, start, time.Now(), measureStart) || (!o.ok && fatal(o)) {
			return
		}
	}
}

func (r *clientResult) init() {
	r.errors = errorCounts{}
	r.warmupErrors = errorCounts{}
	r.latencies = make([]time.Duration, 0, 1024)
}

// record counts one request that started (or was due) at start and ended
// at end. It returns false when the request was cut short by ctx, which is
// the user or an abort rather than a failure of the edge: the client stops.
func (r *clientResult) record(ctx context.Context, o outcome, start, end, measureStart time.Time) bool {
	if !o.ok && ctx.Err() != nil {
		return false
	}
	warm := start.Before(measureStart)
	if o.jobID != "" {
		r.jobs = append(r.jobs, acceptedJob{id: o.jobID, accepted: end, warmup: warm})
	}
	switch {
	case warm && o.ok:
		r.warmupOK++
	case warm:
		r.warmupErrors.add(o.kind, o.example)
	case o.ok:
		r.latencies = append(r.latencies, end.Sub(start))
		r.lastEnd = end
	default:
		r.errors.add(o.kind, o.example)
		r.lastEnd = end
	}
	return true
}
