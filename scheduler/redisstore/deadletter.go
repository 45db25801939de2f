package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

// DeadLetters implements scheduler.Store.
func (s *Store) DeadLetters(ctx context.Context, before time.Time, limit int) ([]string, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	bound := "+inf"
	if !before.IsZero() {
		bound = "(" + strconv.FormatInt(before.UnixMilli(), 10)
	}
	ids, err := deadLettersScript.Run(ctx, s.rdb, []string{s.key("deadletters")}, bound, limit, s.key("job:")).StringSlice()
	if err != nil {
		return nil, s.fail("listing dead-lettered jobs", err)
	}
	return ids, nil
}

// Redrive implements scheduler.Store: the record and the main-queue entry
// are written in the one MULTI of an Update.
func (s *Store) Redrive(ctx context.Context, id string) (*scheduler.Job, error) {
	j, err := s.update(ctx, id, (*scheduler.Job).Redrive, true)
	if err != nil {
		return nil, fmt.Errorf("redriving job %q: %w", id, err)
	}
	return j, nil
}
