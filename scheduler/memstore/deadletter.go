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

// Redrive implements scheduler.Store.
func (s *Store) Redrive(ctx context.Context, id string) (*scheduler.Job, error) {
	return s.update(ctx, id, (*scheduler.Job).Redrive, true)
}
