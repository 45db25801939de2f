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

// Claim implements scheduler.Queue.
func (s *Store) Claim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, scheduler.ErrClosed
		}
		now := time.Now()
		id, enq, soonest := s.q.next(now)
		if id != "" {
			l := &lease{token: xid.New().String(), consumer: consumer, expires: now.Add(ttl), enqueued: enq}
			s.q.leases[id] = l
			s.mu.Unlock()
			return &scheduler.Lease{JobID: id, Token: l.token, Consumer: consumer, Expires: l.expires}, nil
		}
		wake := s.wake
		s.mu.Unlock()
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

// holds reports whether l is still the live lease of its job.
func (s *Store) holdsLocked(l *scheduler.Lease) (*lease, bool) {
	cur, ok := s.q.leases[l.JobID]
	if !ok || cur.token != l.Token || !cur.expires.After(time.Now()) {
		return nil, false
	}
	return cur, true
}

// Extend implements scheduler.Queue.
func (s *Store) Extend(ctx context.Context, l *scheduler.Lease, ttl time.Duration) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.holdsLocked(l)
	if !ok {
		return scheduler.ErrLeaseLost
	}
	cur.expires = time.Now().Add(ttl)
	l.Expires = cur.expires
	return nil
}

// Ack implements scheduler.Queue.
func (s *Store) Ack(ctx context.Context, l *scheduler.Lease) error {
	if err := s.lock(); err != nil {
		return err
	}
	if _, ok := s.holdsLocked(l); !ok {
		s.mu.Unlock()
		return scheduler.ErrLeaseLost
	}
	delete(s.q.leases, l.JobID)
	s.mu.Unlock()
	return s.persist(l.JobID)
}

// Requeue implements scheduler.Queue.
func (s *Store) Requeue(ctx context.Context, l *scheduler.Lease) error {
	if err := s.lock(); err != nil {
		return err
	}
	if _, ok := s.holdsLocked(l); !ok {
		s.mu.Unlock()
		return scheduler.ErrLeaseLost
	}
	delete(s.q.leases, l.JobID)
	s.q.push(l.JobID, time.Now())
	s.broadcastLocked()
	s.mu.Unlock()
	return s.persist(l.JobID)
}

// Stats implements scheduler.Queue.
func (s *Store) Stats(ctx context.Context) (scheduler.QueueStats, error) {
	if err := s.lock(); err != nil {
		return scheduler.QueueStats{}, err
	}
	defer s.mu.Unlock()
	now := time.Now()
	st := scheduler.QueueStats{Depth: int64(len(s.q.ready))}
	oldest := time.Time{}
	for _, id := range s.q.ready {
		if at := s.q.enqueued[id]; oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	for _, l := range s.q.leases {
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
