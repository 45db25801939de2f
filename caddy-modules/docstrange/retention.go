package docstrange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
)

// recordGrace is how long a job record outlives its artifacts, so a client
// asking for an expired result gets 410 RESULT_EXPIRED instead of 404.
const recordGrace = 7 * 24 * time.Hour

// retention removes the artifacts of expired jobs, then, after recordGrace,
// the records themselves.
type retention struct {
	jobs  scheduler.Store
	blobs blob.Store
	every time.Duration
	log   *slog.Logger
}

func (r *retention) run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		r.sweep(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

const sweepBatch = 500

// sweep acts on the jobs due at now. ExpiresAt is the time of a job's next
// retention step: first its artifacts go and the record is marked (and given
// recordGrace more), then the record goes. Every step is idempotent, so a
// crash between two of them repeats the first next time.
func (r *retention) sweep(ctx context.Context, now time.Time) {
	if _, err := r.jobs.PurgeBatches(ctx, now); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "purging expired batches", "error", err)
	}
	ids, err := r.jobs.Expired(ctx, now, sweepBatch)
	if err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "listing expired jobs", "error", err)
	}
	for _, id := range ids {
		if err := r.expire(ctx, id, now); err != nil && !errors.Is(err, errNotDue) && !errors.Is(err, scheduler.ErrNotFound) {
			r.log.WarnContext(ctx, "expiring job", "job_id", id, "error", err)
		}
	}
}

// errNotDue: the job changed since Expired listed it (an admin redrove it)
// and its retention step is not due any more.
var errNotDue = errors.New("retention not due")

// expire takes a job's next retention step. The record says the artifacts
// are gone before they go, in an Update that checks the step is still due:
// a job redriven after Expired listed it keeps its input, and a redrive
// after the mark is refused (scheduler.ErrInputExpired).
func (r *retention) expire(ctx context.Context, id string, now time.Time) error {
	j, err := r.jobs.Update(ctx, id, func(j *scheduler.Job) error {
		if j.ExpiresAt.IsZero() || j.ExpiresAt.After(now) {
			return errNotDue
		}
		if !j.ResultExpired {
			j.ResultExpired = true
			j.ExpiresAt = now.Add(recordGrace)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.blobs.DeletePrefix(ctx, "jobs/"+id); err != nil {
		return fmt.Errorf("deleting artifacts: %w", err)
	}
	if j.ExpiresAt.After(now) {
		// First step: the record waits out its grace.
		return nil
	}
	// Second step: the grace is over; the record goes too.
	return r.jobs.Delete(ctx, id)
}
