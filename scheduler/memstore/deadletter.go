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
	// Newest first is oldest first reversed, ties included.
	ids := oldestIDs(all, 0)
	slices.Reverse(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
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
