package dispatch

import (
	"context"

	"github.com/docstrange/mesh/scheduler/redisstore"
)

// RedisQueues opens the named queues of a Redis store.
type RedisQueues struct{ Store *redisstore.Store }

// Queue implements Queues.
func (r RedisQueues) Queue(ctx context.Context, name string) (WorkerQueue, error) {
	return r.Store.Queue(ctx, name)
}
