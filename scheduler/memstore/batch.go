package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/docstrange/mesh/scheduler"
)

var bucketBatches = []byte("batches")

// CreateBatch implements scheduler.Store.
func (s *Store) CreateBatch(ctx context.Context, b *scheduler.Batch) error {
	if err := s.lock(); err != nil {
		return err
	}
	if _, ok := s.batches[b.ID]; ok {
		s.mu.Unlock()
		return scheduler.ErrExists
	}
	c := b.Clone()
	s.batches[b.ID] = c
	s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding batch %q: %w", b.ID, err)
	}
	err = s.db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bucketBatches).Put([]byte(b.ID), v) })
	if err != nil {
		s.mu.Lock()
		delete(s.batches, b.ID)
		s.mu.Unlock()
		return fmt.Errorf("persisting batch %q: %w", b.ID, err)
	}
	return nil
}

// GetBatch implements scheduler.Store.
func (s *Store) GetBatch(ctx context.Context, id string) (*scheduler.Batch, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	b, ok := s.batches[id]
	if !ok || !b.ExpiresAt.IsZero() && !b.ExpiresAt.After(time.Now()) {
		return nil, scheduler.ErrNotFound
	}
	return b.Clone(), nil
}

// PurgeBatches implements scheduler.Store.
func (s *Store) PurgeBatches(ctx context.Context, t time.Time) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	var ids []string
	for id, b := range s.batches {
		if !b.ExpiresAt.IsZero() && !b.ExpiresAt.After(t) {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	if len(ids) == 0 {
		return 0, nil
	}
	if s.db != nil {
		err := s.db.Batch(func(tx *bolt.Tx) error {
			for _, id := range ids {
				if err := tx.Bucket(bucketBatches).Delete([]byte(id)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("purging batches: %w", err)
		}
	}
	s.mu.Lock()
	for _, id := range ids {
		delete(s.batches, id)
	}
	s.mu.Unlock()
	return len(ids), nil
}

// loadBatches reads the batch bucket at Open.
func (s *Store) loadBatches(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bucketBatches)
	if err != nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error {
		var bt scheduler.Batch
		if err := json.Unmarshal(v, &bt); err != nil {
			return fmt.Errorf("decoding batch %q: %w", k, err)
		}
		s.batches[bt.ID] = &bt
		return nil
	})
}
