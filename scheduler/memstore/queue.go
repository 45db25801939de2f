package memstore

import (
	"context"
	"time"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/scheduler"
)

type lease struct {
	token    string
	consumer string
	expires  time.Time
	enqueued time.Time
}

// queue is the in-memory FIFO plus the leases; the Store's mutex guards it.
type queue struct {
	// pending holds jobs being created: members once their record is
	// durable, not claimable before.
	pending  map[string]time.Time
	ready    []string
	enqueued map[string]time.Time
	leases   map[string]*lease
}

func newQueue() queue {
	return queue{pending: map[string]time.Time{}, enqueued: map[string]time.Time{}, leases: map[string]*lease{}}
}

func (q *queue) push(id string, at time.Time) {
	if _, ok := q.enqueued[id]; ok {
		return
	}
	q.ready = append(q.ready, id)
	q.enqueued[id] = at
}

// member reports whether id is in the queue (waiting, pending or leased)
// and since when.
func (q *queue) member(id string) (time.Time, bool) {
	if at, ok := q.pending[id]; ok {
		return at, true
	}
	if at, ok := q.enqueued[id]; ok {
		return at, true
	}
	if l, ok := q.leases[id]; ok {
		return l.enqueued, true
	}
	return time.Time{}, false
}

func (q *queue) remove(id string) {
	delete(q.leases, id)
	if _, ok := q.enqueued[id]; !ok {
		return
	}
	delete(q.enqueued, id)
	for i, r := range q.ready {
		if r == id {
			q.ready = append(q.ready[:i], q.ready[i+1:]...)
			return
		}
	}
}

// next hands out an expired lease first, then the oldest ready job. It
// returns the id and the earliest future lease expiry (zero if none), which
// bounds how long a blocked Claim may sleep.
func (q *queue) next(now time.Time) (string, time.Time, time.Time) {
	var soonest time.Time
	for id, l := range q.leases {
		if !l.expires.After(now) {
			delete(q.leases, id)
			return id, l.enqueued, time.Time{}
		}
		if soonest.IsZero() || l.expires.Before(soonest) {
			soonest = l.expires
		}
	}
	if len(q.ready) == 0 {
		return "", time.Time{}, soonest
	}
	id := q.ready[0]
	q.ready = q.ready[1:]
	at := q.enqueued[id]
	delete(q.enqueued, id)
	return id, at, time.Time{}
}

func (s *Store) broadcastLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// Queue is one queue of the store: the main queue, which Create fills, or a
// named one (Store.Queue), such as the embedded worker's own queue of
// placed jobs. Both persist their members, and a lease, like the main
// queue's, is memory only: after a restart its job is claimable again.
type Queue struct {
	s    *Store
	name string
	q    *queue
}

var _ scheduler.Queue = (*Queue)(nil)

func (s *Store) main() *Queue { return &Queue{s: s, q: &s.q} }

// Queue returns the named queue, creating it when missing; "" is the main
// queue.
func (s *Store) Queue(ctx context.Context, name string) (*Queue, error) {
	if name == "" {
		return s.main(), nil
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	q, ok := s.named[name]
	if !ok {
		nq := newQueue()
		q = &nq
		s.named[name] = q
	}
	return &Queue{s: s, name: name, q: q}, nil
}

// Name is the queue's name, "" for the main queue.
func (q *Queue) Name() string { return q.name }

// Enqueue puts a stored job on the queue. A job already in it, waiting or
// leased, is replaced: handed out once more, and a lease on it is lost.
func (q *Queue) Enqueue(ctx context.Context, id string) error {
	if err := q.s.lock(); err != nil {
		return err
	}
	if _, ok := q.s.jobs[id]; !ok {
		q.s.mu.Unlock()
		return scheduler.ErrNotFound
	}
	q.q.remove(id)
	q.q.push(id, time.Now())
	q.s.broadcastLocked()
	q.s.mu.Unlock()
	return q.persist(id)
}

// persist writes id's record and queue memberships.
func (q *Queue) persist(id string) error { return q.s.persist(id) }

// Claim implements scheduler.Queue on the main queue.
func (s *Store) Claim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	return s.main().Claim(ctx, consumer, ttl)
}

// TryClaim is Queue.TryClaim on the main queue.
func (s *Store) TryClaim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	return s.main().TryClaim(ctx, consumer, ttl)
}

// Extend implements scheduler.Queue on the main queue.
func (s *Store) Extend(ctx context.Context, l *scheduler.Lease, ttl time.Duration) error {
	return s.main().Extend(ctx, l, ttl)
}

// Ack implements scheduler.Queue on the main queue.
func (s *Store) Ack(ctx context.Context, l *scheduler.Lease) error { return s.main().Ack(ctx, l) }

// Requeue implements scheduler.Queue on the main queue.
func (s *Store) Requeue(ctx context.Context, l *scheduler.Lease) error {
	return s.main().Requeue(ctx, l)
}

// Stats implements scheduler.Queue on the main queue.
func (s *Store) Stats(ctx context.Context) (scheduler.QueueStats, error) {
	return s.main().Stats(ctx)
}

// claimLocked hands out the next job, or "" and the earliest future lease
// expiry. An entry whose job was deleted meanwhile is dropped.
func (q *Queue) claimLocked(consumer string, ttl time.Duration) (*scheduler.Lease, time.Time) {
	for {
		now := time.Now()
		id, enq, soonest := q.q.next(now)
		if id == "" {
			return nil, soonest
		}
		if _, ok := q.s.jobs[id]; !ok {
			continue
		}
		l := &lease{token: xid.New().String(), consumer: consumer, expires: now.Add(ttl), enqueued: enq}
		q.q.leases[id] = l
		return &scheduler.Lease{JobID: id, Token: l.token, Consumer: consumer, Expires: l.expires}, time.Time{}
	}
}

// Claim implements scheduler.Queue.
func (q *Queue) Claim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	for {
		if err := q.s.lock(); err != nil {
			return nil, err
		}
		l, soonest := q.claimLocked(consumer, ttl)
		wake := q.s.wake
		q.s.mu.Unlock()
		if l != nil {
			return l, nil
		}
		var timer <-chan time.Time
		if !soonest.IsZero() {
			t := time.NewTimer(time.Until(soonest))
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		case <-timer:
		}
	}
}

// TryClaim is Claim without the wait: nil, nil when nothing is claimable
// now.
func (q *Queue) TryClaim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	if err := q.s.lock(); err != nil {
		return nil, err
	}
	defer q.s.mu.Unlock()
	l, _ := q.claimLocked(consumer, ttl)
	return l, nil
}

// holdsLocked reports whether l is still the live lease of its job.
func (q *Queue) holdsLocked(l *scheduler.Lease) (*lease, bool) {
	cur, ok := q.q.leases[l.JobID]
	if !ok || cur.token != l.Token || !cur.expires.After(time.Now()) {
		return nil, false
	}
	return cur, true
}

// Extend implements scheduler.Queue.
func (q *Queue) Extend(ctx context.Context, l *scheduler.Lease, ttl time.Duration) error {
	if err := q.s.lock(); err != nil {
		return err
	}
	defer q.s.mu.Unlock()
	cur, ok := q.holdsLocked(l)
	if !ok {
		return scheduler.ErrLeaseLost
	}
	cur.expires = time.Now().Add(ttl)
	l.Expires = cur.expires
	return nil
}

// Ack implements scheduler.Queue.
func (q *Queue) Ack(ctx context.Context, l *scheduler.Lease) error {
	if err := q.s.lock(); err != nil {
		return err
	}
	if _, ok := q.holdsLocked(l); !ok {
		q.s.mu.Unlock()
		return scheduler.ErrLeaseLost
	}
	delete(q.q.leases, l.JobID)
	q.s.mu.Unlock()
	return q.persist(l.JobID)
}

// Requeue implements scheduler.Queue.
func (q *Queue) Requeue(ctx context.Context, l *scheduler.Lease) error {
	if err := q.s.lock(); err != nil {
		return err
	}
	if _, ok := q.holdsLocked(l); !ok {
		q.s.mu.Unlock()
		return scheduler.ErrLeaseLost
	}
	delete(q.q.leases, l.JobID)
	q.q.push(l.JobID, time.Now())
	q.s.broadcastLocked()
	q.s.mu.Unlock()
	return q.persist(l.JobID)
}

// Stats implements scheduler.Queue.
func (q *Queue) Stats(ctx context.Context) (scheduler.QueueStats, error) {
	if err := q.s.lock(); err != nil {
		return scheduler.QueueStats{}, err
	}
	defer q.s.mu.Unlock()
	now := time.Now()
	st := scheduler.QueueStats{Depth: int64(len(q.q.ready))}
	oldest := time.Time{}
	for _, id := range q.q.ready {
		if at := q.q.enqueued[id]; oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	for _, l := range q.q.leases {
		if l.expires.After(now) {
			st.Leased++
		} else {
			st.Depth++
			if oldest.IsZero() || l.enqueued.Before(oldest) {
				oldest = l.enqueued
			}
		}
	}
	if !oldest.IsZero() {
		st.OldestAge = now.Sub(oldest)
	}
	return st, nil
}
