package scheduler

import (
	"context"
	"time"
)

// Store keeps job records. Every method is safe for concurrent use, and every
// write is durable when it returns: an accepted job is never lost.
type Store interface {
	// Create stores a new queued job and enqueues it in one atomic step. If
	// job.IdempotencyKey is set and the tenant already used it, Create
	// stores nothing and returns the earlier job with ErrDuplicate. An id
	// that is already stored gives ErrExists.
	Create(ctx context.Context, job *Job) (*Job, error)
	// Get returns a copy of the job, or ErrNotFound.
	Get(ctx context.Context, id string) (*Job, error)
	// FindIdempotent returns the tenant's job created with key, or
	// ErrNotFound.
	FindIdempotent(ctx context.Context, tenant, key string) (*Job, error)
	// FindDedupe returns the newest job (in id order, as List) whose
	// DedupeKey is key and which is Reusable now, or ErrNotFound. A job
	// that failed, was canceled, is due for expiry, was expired by
	// retention or was deleted is never returned. The key carries its
	// scope (see DedupeKey), so FindDedupe takes no tenant. A store may
	// index only the newest succeeded job of a key: when that one stops
	// being reusable before an older one does, the answer is ErrNotFound,
	// a cache miss and never a wrong job.
	FindDedupe(ctx context.Context, key string) (*Job, error)
	// List returns the tenant's jobs newest first. Cursor is the NextCursor
	// of the previous page, empty for the first.
	List(ctx context.Context, tenant string, cursor string, limit int) (ListPage, error)
	// Update applies fn to the stored job atomically and persists the result,
	// with the webhook events the change implies (RecordEvents) in the same
	// write. If fn returns an error nothing is written and that error is
	// returned.
	// Subscribers of the job see the new version. fn may run more than once
	// (the Redis store retries on a concurrent write), so it must only
	// change the job it is given and have no other effects.
	Update(ctx context.Context, id string, fn func(*Job) error) (*Job, error)
	// Subscribe delivers the job after each Update until ctx ends. Delivery
	// is best effort: a slow reader may miss intermediate versions, never the
	// last one before it reads again.
	Subscribe(ctx context.Context, id string) (<-chan *Job, error)
	// Expired returns up to limit ids of jobs whose ExpiresAt is set and not
	// after t, oldest first.
	Expired(ctx context.Context, t time.Time, limit int) ([]string, error)
	// WebhooksDue returns up to limit ids of jobs whose next webhook
	// delivery (Job.WebhookDue) is due at t, the most overdue first.
	WebhooksDue(ctx context.Context, t time.Time, limit int) ([]string, error)
	// DeadLetters returns up to limit ids of dead-lettered jobs (see
	// Job.DeadLetteredAt) whose DeadLetteredAt is before before, newest
	// first and by id among equals; a zero before means no bound.
	DeadLetters(ctx context.Context, before time.Time, limit int) ([]string, error)
	// Redrive puts a dead-lettered job back in the queue as new (see
	// Job.Redrive), the record and the queue entry in one atomic step. A
	// job that is not dead-lettered gives ErrNotDeadLettered.
	Redrive(ctx context.Context, id string) (*Job, error)
	// CreateBatch stores a batch record; an id already stored gives
	// ErrExists.
	CreateBatch(ctx context.Context, b *Batch) error
	// GetBatch returns a copy of the batch, or ErrNotFound once it is
	// missing or past its ExpiresAt.
	GetBatch(ctx context.Context, id string) (*Batch, error)
	// PurgeBatches deletes batch records whose ExpiresAt is not after t and
	// returns how many it deleted. A store that expires them by itself
	// (Redis key TTLs) returns 0.
	PurgeBatches(ctx context.Context, t time.Time) (int, error)
	// Delete removes the job record and its indexes. Deleting a missing job
	// is not an error.
	Delete(ctx context.Context, id string) error
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	// Close releases resources.
	Close() error
}

// ListPage is one page of List.
type ListPage struct {
	Jobs       []*Job
	NextCursor string
}

// Lease is a consumer's time-limited hold on a queued job.
type Lease struct {
	JobID string
	// Token identifies this hold; it changes when the job is reclaimed.
	Token    string
	Consumer string
	Expires  time.Time
}

// QueueStats describe the backlog.
type QueueStats struct {
	// Depth counts jobs waiting to be claimed.
	Depth int64
	// Leased counts jobs held by consumers.
	Leased int64
	// OldestAge is the wait of the oldest unclaimed job, 0 when empty.
	OldestAge time.Duration
}

// Queue hands queued jobs to consumers with leases. Delivery is at least once:
// a lease that is not extended or acknowledged before it expires makes the job
// claimable again.
type Queue interface {
	// Claim blocks until a job is available or ctx ends. Jobs whose lease
	// expired are handed out before new ones.
	Claim(ctx context.Context, consumer string, ttl time.Duration) (*Lease, error)
	// Extend renews the lease, or returns ErrLeaseLost.
	Extend(ctx context.Context, lease *Lease, ttl time.Duration) error
	// Ack removes the job from the queue for good.
	Ack(ctx context.Context, lease *Lease) error
	// Requeue gives the job back to be claimed again.
	Requeue(ctx context.Context, lease *Lease) error
	// Stats reports depth and age of the backlog.
	Stats(ctx context.Context) (QueueStats, error)
}

// Backend is the pair every deployment provides: records plus queue.
type Backend interface {
	Store
	Queue
}

// WithQueue pairs a store's job records with one of its queues, such as a
// worker's own queue of placed jobs: the Backend of an agent that claims
// from that queue.
func WithQueue(s Store, q Queue) Backend { return withQueue{s, q} }

type withQueue struct {
	Store
	Queue
}
