package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

// dedupeCandidate reports whether j belongs in the dedupe index. ExpiresAt
// is left to FindDedupe, because time passes it without an Update.
func dedupeCandidate(j *scheduler.Job) bool {
	return j.DedupeKey != "" && j.Status == scheduler.StatusSucceeded && !j.ResultExpired
}

// indexDedupe adds j under its DedupeKey if it is a candidate. The caller
// holds the mutex.
func (s *Store) indexDedupe(j *scheduler.Job) {
	if !dedupeCandidate(j) {
		return
	}
	ids := s.dedupe[j.DedupeKey]
	if i, found := slices.BinarySearch(ids, j.ID); !found {
		s.dedupe[j.DedupeKey] = slices.Insert(ids, i, j.ID)
	}
}

// unindexDedupe removes j from the index of its DedupeKey. The caller holds
// the mutex.
func (s *Store) unindexDedupe(j *scheduler.Job) {
	ids, ok := s.dedupe[j.DedupeKey]
	if !ok {
		return
	}
	if i, found := slices.BinarySearch(ids, j.ID); found {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(s.dedupe, j.DedupeKey)
		return
	}
	s.dedupe[j.DedupeKey] = ids
}

// FindDedupe implements scheduler.Store. It keeps every succeeded job of a
// key, so an older job still answers when a newer one expired first.
func (s *Store) FindDedupe(ctx context.Context, key string) (*scheduler.Job, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	now := time.Now()
	ids := s.dedupe[key]
	for i := len(ids) - 1; i >= 0; i-- {
		if j := s.jobs[ids[i]]; j.Reusable(now) {
			return j.Clone(), nil
		}
	}
	return nil, scheduler.ErrNotFound
}
