// Package index keeps tus uploads ordered by expiry, so that the edge can find
// and delete expired uploads without listing the store: tusd's s3store cannot
// list, and listing a data folder grows with every upload.
//
// Two implementations share one contract, proved by one conformance suite:
// Bolt, a bbolt file in the data folder for an embedded edge, and Redis, for
// edges that share a store and must share one view of what is due.
//
// Expiry times are kept to the millisecond: Redis orders by a float64 score,
// which holds milliseconds exactly but not nanoseconds. Both implementations
// truncate the same way, so Get returns Expires truncated to the millisecond,
// in UTC, and Due compares that truncated time with now.
package index

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotFound is returned by Get for an id that is not in the index.
	ErrNotFound = errors.New("index: upload not found")
	// ErrClosed is returned by every method once the index is closed.
	ErrClosed = errors.New("index: closed")
	// ErrInvalidEntry is returned by Add for an entry without an ID or an
	// expiry, and by Get and Remove for an empty id.
	ErrInvalidEntry = errors.New("index: invalid entry")
	// ErrInvalidLimit is returned by Due for a limit below 1.
	ErrInvalidLimit = errors.New("index: invalid limit")
)

// Entry is one upload: who owns it and when it may be deleted.
type Entry struct {
	// ID is the tus upload id.
	ID string
	// Owner is the tenant that created the upload.
	Owner string
	// Expires is when the upload may be deleted, kept to the millisecond.
	Expires time.Time
}

// Index orders uploads by expiry. Implementations are safe for concurrent use.
type Index interface {
	// Add inserts e, or replaces the entry with e.ID, moving its expiry.
	Add(ctx context.Context, e Entry) error
	// Get returns the entry for id, or ErrNotFound.
	Get(ctx context.Context, id string) (Entry, error)
	// Due returns at most limit entries whose Expires is not after now,
	// oldest first; entries that expire at the same millisecond come in
	// order of ID.
	Due(ctx context.Context, now time.Time, limit int) ([]Entry, error)
	// Remove deletes the entry for id. Removing an absent id is no error.
	Remove(ctx context.Context, id string) error
	// Close releases what the index holds. Calling it again is no error.
	Close() error
}

// fromMillis is the time ms milliseconds after the Unix epoch, in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// checkEntry refuses entries that cannot be indexed.
func checkEntry(e Entry) error {
	if e.ID == "" {
		return fmt.Errorf("%w: empty id", ErrInvalidEntry)
	}
	if e.Expires.IsZero() {
		return fmt.Errorf("%w: upload %q has no expiry", ErrInvalidEntry, e.ID)
	}
	return nil
}

// checkID refuses an empty id.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty id", ErrInvalidEntry)
	}
	return nil
}

// checkLimit refuses a limit below 1: a zero limit is more likely a missing
// setting than a wish for nothing.
func checkLimit(limit int) error {
	if limit < 1 {
		return fmt.Errorf("%w: %d is below 1", ErrInvalidLimit, limit)
	}
	return nil
}
