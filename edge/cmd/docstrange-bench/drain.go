package main

import (
	"cmp"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/docstrange/mesh/api"
)

// Job states of the public API; the last three are terminal.
const (
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusCanceled  = "canceled"
)

const (
	// longPollWait is the ?wait= of a status poll once few enough jobs are
	// left that every poller can sit on one. With more jobs than pollers a
	// long-poll would hold a poller on one job while others finish, so
	// those rounds ask without waiting.
	longPollWait = 5 * time.Second
	// minRound is the shortest time between the starts of two polling
	// rounds. Without it, thousands of pending jobs are polled back to back
	// and the status reads steal the CPU the edge's workers need to finish
	// them, which skews jobs/s downwards.
	minRound = 500 * time.Millisecond
)

// drainResult is what became of the submit phase's accepted jobs.
type drainResult struct {
	tracked      int
	fromWarmup   int
	succeeded    int
	failed       int
	canceled     int
	lost         int // the edge answered 404 for a job it had accepted
	unfinished   int // not terminal when -drain ran out
	failureCodes errorCounts
	pollErrors   errorCounts
	polls        int
	lastFinish   time.Time // zero when no job finished
	elapsed      time.Duration
	interrupted  bool
}

func (d *drainResult) finished() int { return d.succeeded + d.failed + d.canceled }

// jobsPerSecond is terminal jobs per second from since (the submit phase's
// start) to the last finish.
func (d *drainResult) jobsPerSecond(since time.Time) float64 {
	if d.finished() == 0 || !d.lastFinish.After(since) {
		return 0
	}
	return float64(d.finished()) / d.lastFinish.Sub(since).Seconds()
}

// jobState is the poller's view of one job; pollers write only the state of
// the job they hold, so the slice needs no lock.
type jobState struct {
	job        acceptedJob
	status     string
	finishedAt time.Time
	errorCode  string
	lost       bool
}

func (s *jobState) done() bool {
	switch s.status {
	case statusSucceeded, statusFailed, statusCanceled:
		return true
	}
	return s.lost
}

// drainJobs polls every job until all are terminal, budget passes or ctx
// is done.
func drainJobs(parent context.Context, c *apiClient, jobs []acceptedJob, concurrency int, budget time.Duration) *drainResult {
	res := &drainResult{tracked: len(jobs), failureCodes: errorCounts{}, pollErrors: errorCounts{}}
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()

	states := make([]jobState, len(jobs))
	pending := make([]int, 0, len(jobs))
	for i, j := range jobs {
		states[i].job = j
		if j.warmup {
			res.fromWarmup++
		}
		pending = append(pending, i)
	}

	var mu sync.Mutex // guards res.pollErrors and res.polls
	for len(pending) > 0 && ctx.Err() == nil {
		wait := time.Duration(0)
		if len(pending) <= concurrency {
			wait = longPollWait
			if dl, ok := ctx.Deadline(); ok {
				wait = min(wait, time.Until(dl).Truncate(time.Second))
			}
		}
		roundStart, before := time.Now(), len(pending)
		pending = pollRound(ctx, c, states, pending, concurrency, wait, func(o outcome) {
			mu.Lock()
			defer mu.Unlock()
			res.polls++
			if !o.ok && ctx.Err() == nil {
				res.pollErrors.add(o.kind, o.example)
			}
		})
		// A round that found most of its window finished goes on at once:
		// the edge is ahead of the poller, not the other way round.
		mostlyDone := before-len(pending) > min(before, concurrency*roundWindow)/2
		if pause := minRound - time.Since(roundStart); pause > 0 && len(pending) > 0 && !mostlyDone {
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
		}
	}
	res.elapsed = time.Since(start)
	res.interrupted = parent.Err() != nil && len(pending) > 0

	for i := range states {
		s := &states[i]
		switch {
		case s.lost:
			res.lost++
		case s.status == statusSucceeded:
			res.succeeded++
		case s.status == statusFailed:
			res.failed++
			res.failureCodes.add(cmp.Or(s.errorCode, "(no error code)"), s.job.id)
		case s.status == statusCanceled:
			res.canceled++
		default:
			res.unfinished++
		}
		if s.done() && !s.lost && s.finishedAt.After(res.lastFinish) {
			res.lastFinish = s.finishedAt
		}
	}
	return res
}

// roundWindow bounds how many of the oldest pending jobs one round polls,
// as a multiple of the poll concurrency. Jobs run roughly in submission
// order, so the newest thousands cannot have finished while the oldest wait;
// polling them every round only loads the edge being measured.
const roundWindow = 8

// pollRound polls the oldest pending jobs once with up to concurrency
// requests in flight and returns the jobs still pending, in order.
func pollRound(ctx context.Context, c *apiClient, states []jobState, pending []int, concurrency int, wait time.Duration, record func(outcome)) []int {
	window := pending[:min(len(pending), concurrency*roundWindow)]
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(concurrency, len(window)) {
		wg.Go(func() {
			for i := range work {
				pollOne(ctx, c, &states[i], wait, record)
			}
		})
	}
feed:
	for _, i := range window {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()

	next := pending[:0]
	for _, i := range pending {
		if !states[i].done() {
			next = append(next, i)
		}
	}
	return next
}

func pollOne(ctx context.Context, c *apiClient, s *jobState, wait time.Duration, record func(outcome)) {
	job, o := c.getJob(ctx, s.job.id, wait)
	observed := time.Now()
	record(o)
	if !o.ok {
		// A 404 will not turn into a job by asking again.
		s.lost = o.status == http.StatusNotFound
		return
	}
	s.status = job.Status
	if !s.done() {
		return
	}
	s.finishedAt = finishTime(job, s.job.accepted, observed)
	if job.Error != nil {
		s.errorCode = job.Error.Code
	}
}

// finishTime is when a job finished: the edge's finished_at when it is
// plausible on this machine's clock (between acceptance and the poll that
// saw it, give or take a second of skew), else the poll's own time, which
// can only be late.
func finishTime(job *api.Job, accepted, observed time.Time) time.Time {
	f := job.FinishedAt
	if f.IsZero() || f.Before(accepted.Add(-time.Second)) || f.After(observed.Add(time.Second)) {
		return observed
	}
	return f
}
