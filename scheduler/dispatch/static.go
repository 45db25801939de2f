package dispatch

import (
	"context"
	"slices"

	"github.com/docstrange/mesh/scheduler/memstore"
	"github.com/docstrange/mesh/scheduler/placement"
)

// Static is a Discovery of a fixed set of workers, always healthy: the
// embedded single node's one local worker, which runs in the same process
// as the dispatcher and lives exactly as long.
type Static []placement.Worker

// Workers implements Discovery.
func (s Static) Workers(context.Context) ([]placement.Worker, error) { return slices.Clone(s), nil }

// MemoryQueues opens the named queues of an embedded store.
type MemoryQueues struct{ Store *memstore.Store }

// Queue implements Queues.
func (m MemoryQueues) Queue(ctx context.Context, name string) (WorkerQueue, error) {
	return m.Store.Queue(ctx, name)
}
