package dispatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/placement"
)

// round is one placement round: a snapshot of the workers and their load,
// the placement decision, the dispatch of each placed job, the reasons of
// the jobs left waiting, and the reclaim of dead workers' queues.
func (d *Dispatcher) round(ctx context.Context) error {
	workers, err := d.disc.Workers(ctx)
	if err != nil {
		return fmt.Errorf("discovering workers: %w", err)
	}
	now := time.Now()
	queues := make([]WorkerQueue, len(workers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ioParallel)
	for i := range workers {
		w := &workers[i]
		g.Go(func() error {
			q, err := d.queue(gctx, w.ID)
			if err != nil {
				return fmt.Errorf("opening the queue of worker %q: %w", w.ID, err)
			}
			st, err := q.Stats(gctx)
			if err != nil {
				return fmt.Errorf("reading the queue of worker %q: %w", w.ID, err)
			}
			// Placed but not started counts as in use: it will be.
			w.InUse = int(st.Depth + st.Leased)
			queues[i] = q
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	byID := make(map[string]WorkerQueue, len(workers))
	for i, w := range workers {
		byID[w.ID] = queues[i]
	}
	d.reclaim(ctx, workers, now)
	inflight := d.inflight()

	d.mu.Lock()
	jobs := make([]placement.Job, 0, len(d.pending))
	var oldest time.Time
	for _, h := range d.pending {
		jobs = append(jobs, h.job)
		if oldest.IsZero() || h.job.EnqueuedAt.Before(oldest) {
			oldest = h.job.EnqueuedAt
		}
	}
	d.mu.Unlock()
	if oldest.IsZero() {
		d.oldest.Store(0)
	} else {
		d.oldest.Store(oldest.UnixNano())
	}
	if len(jobs) == 0 {
		d.noteDemand(workers, jobs, nil, nil)
		return nil
	}
	assigned, waiting := d.placer.Place(placement.Snapshot{
		Workers: workers, Now: now, Region: d.cfg.Region, AllowSpill: d.cfg.AllowSpill, InFlight: inflight,
	}, jobs)
	d.noteDemand(workers, jobs, assigned, waiting)
	d.log.DebugContext(ctx, "placement round", "workers", len(workers), "pending", len(jobs), "placed", len(assigned), "waiting", len(waiting))
	// Each dispatch is a few round trips to Redis of its own; run them
	// side by side. The order on a worker's queue within one round does
	// not matter: the worker has a free slot for every job placed on it.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(ioParallel)
	for _, a := range assigned {
		g.Go(func() error { return d.dispatch(gctx, a, byID[a.WorkerID]) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, w := range waiting {
		d.noteWaiting(ctx, w)
	}
	return nil
}

// dispatch puts a placed job on its worker's queue, then lets go of the
// main-queue lease: a crash in between leaves the job on both, and it runs
// at least once, never zero times.
func (d *Dispatcher) dispatch(ctx context.Context, a placement.Assignment, q WorkerQueue) error {
	d.mu.Lock()
	h := d.pending[a.JobID]
	d.mu.Unlock()
	if h == nil {
		return nil
	}
	j, err := d.jobs.Update(ctx, a.JobID, func(j *scheduler.Job) error {
		if j.Status.Terminal() || j.CancelRequested {
			return errSkip
		}
		j.Waiting = ""
		j.Worker = a.WorkerID
		return nil
	})
	switch {
	case errors.Is(err, errSkip) || errors.Is(err, scheduler.ErrNotFound):
		// Canceled while it waited: it never runs.
		d.forget(ctx, h, true)
		return nil
	case err != nil:
		return fmt.Errorf("recording the placement of job %q: %w", a.JobID, err)
	}
	if err := q.Enqueue(ctx, j.ID); err != nil {
		return fmt.Errorf("placing job %q on worker %q: %w", j.ID, a.WorkerID, err)
	}
	d.placements.Inc()
	d.mu.Lock()
	d.placed[j.ID] = j.Tenant
	d.placedSince = append(d.placedSince, j.Tenant)
	d.mu.Unlock()
	d.forget(ctx, h, true)
	d.log.DebugContext(ctx, "job placed", "job_id", j.ID, "worker", a.WorkerID, "tenant", j.Tenant)
	return nil
}

var errSkip = errors.New("job must not be placed")

// forget drops a held job, acknowledging its main-queue lease when ack.
func (d *Dispatcher) forget(ctx context.Context, h *held, ack bool) {
	d.mu.Lock()
	delete(d.pending, h.lease.JobID)
	d.mu.Unlock()
	select {
	case d.space <- struct{}{}:
	default:
	}
	if ack {
		if err := d.jobs.Ack(context.WithoutCancel(ctx), h.lease); err != nil && !errors.Is(err, scheduler.ErrLeaseLost) {
			d.log.WarnContext(ctx, "releasing a placed job from the main queue", "job_id", h.lease.JobID, "error", err)
		}
	}
}

// noteWaiting writes why a job waits into its record, once per reason, so
// GET /api/v1/jobs/{id} says what it waits for.
func (d *Dispatcher) noteWaiting(ctx context.Context, w placement.Wait) {
	d.mu.Lock()
	h := d.pending[w.JobID]
	changed := h != nil && h.waiting != w.Reason
	if changed {
		h.waiting = w.Reason
	}
	d.mu.Unlock()
	if !changed {
		return
	}
	_, err := d.jobs.Update(ctx, w.JobID, func(j *scheduler.Job) error {
		if j.Status.Terminal() {
			return errSkip
		}
		j.Waiting = w.Reason
		return nil
	})
	if err != nil && !errors.Is(err, errSkip) && !errors.Is(err, scheduler.ErrNotFound) {
		d.log.WarnContext(ctx, "recording why a job waits", "job_id", w.JobID, "error", err)
	}
}

// inflightEvery is how often refreshInflight reads the placed jobs'
// records: a round runs every 200ms, and shares need not be fresher.
const inflightEvery = time.Second

// ioParallel bounds the Redis calls a round or a refresh has in flight at
// once: one job's or worker's calls wait on the network, not on each other.
const ioParallel = 16

// inflight counts, per tenant, the jobs placed and not yet finished, for
// the fair shares of a round: the last refresh's count plus the placements
// made since. It does no I/O, so a round never waits on the refresh.
func (d *Dispatcher) inflight() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := maps.Clone(d.inflightLast)
	if out == nil {
		out = map[string]int{}
	}
	for _, tenant := range d.placedSince {
		out[tenant]++
	}
	return out
}

// refreshInflight recounts the placed jobs that have not finished every
// inflightEvery until ctx ends, forgetting the finished ones.
func (d *Dispatcher) refreshInflight(ctx context.Context) {
	t := time.NewTicker(inflightEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := d.recount(ctx); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "counting the placed jobs", "error", err)
		}
	}
}

func (d *Dispatcher) recount(ctx context.Context) error {
	d.mu.Lock()
	ids := make([]string, 0, len(d.placed))
	for id := range d.placed {
		ids = append(ids, id)
	}
	// Placements after this point are not in ids; they stay in
	// placedSince.
	since := len(d.placedSince)
	d.mu.Unlock()
	var mu sync.Mutex
	out := map[string]int{}
	var done []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ioParallel)
	for _, id := range ids {
		g.Go(func() error {
			j, err := d.jobs.Get(gctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, scheduler.ErrNotFound) || err == nil && j.Status.Terminal():
				done = append(done, id)
			case err != nil:
				return fmt.Errorf("reading placed job %q: %w", id, err)
			default:
				out[j.Tenant]++
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	d.mu.Lock()
	for _, id := range done {
		delete(d.placed, id)
	}
	d.inflightLast, d.inflightAt = out, time.Now()
	d.placedSince = slices.Clone(d.placedSince[since:])
	d.mu.Unlock()
	return nil
}

// queue opens a queue once and keeps it: opening checks its consumer group
// on Redis, which a round need not repeat for every worker.
func (d *Dispatcher) queue(ctx context.Context, name string) (WorkerQueue, error) {
	d.mu.Lock()
	q, ok := d.opened[name]
	d.mu.Unlock()
	if ok {
		return q, nil
	}
	q, err := d.queues.Queue(ctx, name)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.opened[name] = q
	d.mu.Unlock()
	return q, nil
}

// reclaim gives back to the main queue the jobs on the queue of every
// worker missing from discovery for DeadAfter, so they are placed again.
// A worker that comes back keeps its queue; only its jobs moved.
func (d *Dispatcher) reclaim(ctx context.Context, live []placement.Worker, now time.Time) {
	d.mu.Lock()
	for _, w := range live {
		d.seen[w.ID] = now
	}
	var dead []string
	for id, at := range d.seen {
		if now.Sub(at) > d.cfg.DeadAfter {
			dead = append(dead, id)
		}
	}
	d.mu.Unlock()
	if len(dead) == 0 {
		return
	}
	main, err := d.queue(ctx, "")
	if err != nil {
		d.log.WarnContext(ctx, "opening the main queue", "error", err)
		return
	}
	for _, id := range dead {
		q, err := d.queue(ctx, id)
		if err != nil {
			continue
		}
		n, err := Drain(ctx, q, main, d.cfg.Name+"-reclaim")
		if n > 0 {
			d.reclaims.Add(n)
			d.log.InfoContext(ctx, "reclaimed the jobs of a gone worker", "worker", id, "jobs", n)
		}
		if err != nil {
			d.log.WarnContext(ctx, "reclaiming a gone worker's jobs", "worker", id, "error", err)
			continue
		}
		// Jobs it was running stay leased to it until their leases run
		// out; keep watching the queue until it is empty.
		if st, err := q.Stats(ctx); err == nil && st.Depth+st.Leased == 0 {
			d.mu.Lock()
			delete(d.seen, id)
			d.mu.Unlock()
		}
	}
}

// Drain moves every job it can claim from q to main now and returns how
// many it moved; a job whose lease on q has not run out yet stays. The
// scheduler reclaims a gone worker's queue with it, and a stopping worker
// hands its own queue back.
func Drain(ctx context.Context, q, main WorkerQueue, consumer string) (int, error) {
	n := 0
	for ctx.Err() == nil {
		lease, err := q.TryClaim(ctx, consumer, time.Minute)
		if err != nil || lease == nil {
			return n, err
		}
		if err := main.Enqueue(ctx, lease.JobID); err != nil {
			q.Requeue(context.WithoutCancel(ctx), lease)
			return n, err
		}
		if err := q.Ack(ctx, lease); err != nil && !errors.Is(err, scheduler.ErrLeaseLost) {
			return n, err
		}
		n++
	}
	return n, ctx.Err()
}
