package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

// DeadLetters implements scheduler.Store.
func (s *Store) DeadLetters(ctx context.Context, before time.Time, limit int) ([]string, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	var all []timedID
	for id, at := range s.dead {
		if before.IsZero() || at.Before(before) {
			all = append(all, timedID{id, at})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b timedID) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return compareStrings(b.id, a.id)
	})
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	ids := make([]string, len(all))
	for i, t := range all {
		ids[i] = t.id
	}
	return ids, nil
}

// Redrive implements scheduler.Store. Like Create, the job becomes
// claimable only once its new state is durable.
func (s *Store) Redrive(ctx context.Context, id string) (*scheduler.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	cur, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return nil, scheduler.ErrNotFound
	}
	next := cur.Clone()
	if err := next.Redrive(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	now := time.Now()
	scheduler.RecordEvents(cur, next, now)
	s.unindexDedupe(cur)
	s.jobs[id] = next
	s.indexDedupe(next)
	s.indexHooks(next)
	s.q.pending[id] = now
	s.publishLocked(next)
	s.mu.Unlock()
	err := s.persist(id)
	s.mu.Lock()
	at := s.q.pending[id]
	delete(s.q.pending, id)
	if err == nil {
		s.q.push(id, at)
		s.broadcastLocked()
	} else if s.jobs[id] == next {
		// Not durable: stay dead-lettered, as the disk says.
		s.unindexDedupe(next)
		s.jobs[id] = cur
		s.indexDedupe(cur)
		s.indexHooks(cur)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return next.Clone(), nil
}
