package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

// cancelPoll bounds how late a cancel is noticed if a notification is lost
// (Redis pub/sub drops messages across reconnects).
const cancelPoll = time.Second

// watch keeps the lease alive and aborts the run when the client cancels or
// the lease is lost. It returns when ctx ends.
func (a *Agent) watch(ctx context.Context, abort context.CancelCauseFunc, lease *scheduler.Lease, id string, log *slog.Logger) {
	updates, err := a.jobs.Subscribe(ctx, id)
	if err != nil {
		log.WarnContext(ctx, "subscribing to job; polling only", "error", err)
	}
	renew := time.NewTicker(a.cfg.LeaseTTL / 3)
	defer renew.Stop()
	poll := time.NewTicker(cancelPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case j, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			if j.CancelRequested {
				abort(errCanceled)
				return
			}
		case <-poll.C:
			j, err := a.jobs.Get(ctx, id)
			if err == nil && j.CancelRequested {
				abort(errCanceled)
				return
			}
		case <-renew.C:
			err := a.jobs.Extend(ctx, lease, a.cfg.LeaseTTL)
			if errors.Is(err, scheduler.ErrLeaseLost) {
				abort(errLeaseLost)
				return
			}
			if err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "renewing lease", "error", err)
			}
		}
	}
}

// progressInterval throttles progress writes: a 500-page PDF must not cost
// 500 store round trips per second.
const progressInterval = 250 * time.Millisecond

type progress struct {
	ctx  context.Context
	jobs scheduler.Store
	id   string

	mu          sync.Mutex
	done, total int
	written     int
	last        time.Time
}

func newProgress(ctx context.Context, jobs scheduler.Store, id string) *progress {
	return &progress{ctx: ctx, jobs: jobs, id: id, written: -1}
}

func (p *progress) report(done, total int) {
	p.mu.Lock()
	p.done, p.total = done, total
	due := time.Since(p.last) >= progressInterval
	p.mu.Unlock()
	if due {
		p.flush(p.ctx)
	}
}

// flush writes the latest count if it changed.
func (p *progress) flush(ctx context.Context) {
	p.mu.Lock()
	done, total := p.done, p.total
	if done == p.written {
		p.mu.Unlock()
		return
	}
	p.written, p.last = done, time.Now()
	p.mu.Unlock()
	p.jobs.Update(ctx, p.id, func(j *scheduler.Job) error {
		if j.Status != scheduler.StatusRunning {
			return errSkip
		}
		j.Progress = scheduler.Progress{PagesTotal: total, PagesDone: done}
		return nil
	})
}
