package docstrange

import (
	"context"
	"fmt"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/dispatch"
	"github.com/docstrange/mesh/scheduler/memstore"
)

// LocalWorker names the embedded single node's worker: the queue of the
// jobs placed on it and the Worker of their records.
const LocalWorker = "local"

// memStore is the embedded store under the pool's wrapper, when the store
// is embedded.
func (a *App) memStore() (*memstore.Store, bool) {
	if sb, ok := a.jobs.(sharedBackend); ok {
		m, ok := sb.Backend.(*memstore.Store)
		return m, ok
	}
	m, ok := a.jobs.(*memstore.Store)
	return m, ok
}

// embeddedScheduling reports whether this app runs the scheduler's
// dispatch loop in process: an embedded store with embedded workers. Edges
// sharing Redis with workers of their own claim from the shared queue
// instead; a cluster runs docstrange-scheduler.
func (a *App) embeddedScheduling() bool {
	_, ok := a.memStore()
	return ok && a.Workers > 0
}

// startDispatch runs the same dispatch loop as docstrange-scheduler, with
// the one static local worker as the cluster; the local worker takes its
// jobs from a.local. Priority and fair shares between tenants then hold on
// a single node too, and a job that asks for a GPU never runs on CPU.
func (a *App) startDispatch(ctx context.Context) error {
	mem, _ := a.memStore()
	workers := dispatch.Static{{ID: LocalWorker, Device: scheduler.DeviceCPU, Slots: a.Workers, Region: a.Region}}
	d, err := dispatch.New(dispatch.Config{Name: "embedded", Region: a.Region, LeaseTTL: time.Duration(a.LeaseTTL)},
		mem, dispatch.MemoryQueues{Store: mem}, workers, a.log.With("component", "scheduler"), a.metrics.set)
	if err != nil {
		return err
	}
	a.wg.Go(func() { d.Run(ctx) })
	return nil
}

// openLocal opens the local worker's queue when this app schedules in
// process; nil otherwise.
func (a *App) openLocal(ctx context.Context) (scheduler.Queue, error) {
	if !a.embeddedScheduling() {
		return nil, nil
	}
	mem, _ := a.memStore()
	q, err := mem.Queue(ctx, LocalWorker)
	if err != nil {
		return nil, fmt.Errorf("opening the local worker's queue: %w", err)
	}
	return q, nil
}

// waitingStats reads the backlog of the embedded node for the queue
// gauges: jobs not yet placed (on the main queue, claimed by the
// dispatcher or not) plus those placed on the local worker and not
// started; in use are the local worker's running jobs.
type waitingStats struct {
	main, local scheduler.Queue
}

// Stats implements the part of scheduler.Queue the metrics read.
func (w waitingStats) Stats(ctx context.Context) (scheduler.QueueStats, error) {
	m, err := w.main.Stats(ctx)
	if err != nil {
		return scheduler.QueueStats{}, err
	}
	l, err := w.local.Stats(ctx)
	if err != nil {
		return scheduler.QueueStats{}, err
	}
	return scheduler.QueueStats{Depth: m.Depth + m.Leased + l.Depth, Leased: l.Leased, OldestAge: max(m.OldestAge, l.OldestAge)}, nil
}
