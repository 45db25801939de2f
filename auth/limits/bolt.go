package limits

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// lockTimeout is how long OpenBoltQuotas waits for another process (an edge
// still shutting down) to let go of the file.
const lockTimeout = time.Second

// BoltQuotas is the embedded QuotaStore: a bbolt file in the edge's data
// folder (for example <data>/quotas.db), so that counts survive a restart.
// Each period has a bucket named by its key ("2026-12-01", "2026-12")
// holding tenant → big-endian uint64 count. bbolt locks the file, so only
// one process uses it at a time and reservations cannot overshoot. It is
// safe for concurrent use.
type BoltQuotas struct {
	db *bbolt.DB

	mu       sync.Mutex
	prunedAt string // day key of the last prune
}

var _ QuotaStore = (*BoltQuotas)(nil)

// OpenBoltQuotas opens or creates the file at path and drops the counters of
// periods that ended more than a day ago.
func OpenBoltQuotas(path string) (*BoltQuotas, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, fmt.Errorf("opening quota file %q: %w", path, err)
	}
	b := &BoltQuotas{db: db}
	if err := b.prune(time.Now()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening quota file %q: %w", path, err)
	}
	return b, nil
}

// Reserve implements QuotaStore.
func (b *BoltQuotas) Reserve(ctx context.Context, tenant string, q Quota, n int64, now time.Time) (QuotaResult, error) {
	w, err := checkRequest(tenant, q, n, now)
	if err != nil {
		return QuotaResult{}, fmt.Errorf("reserving documents for %q: %w", tenant, err)
	}
	if err := ctx.Err(); err != nil {
		return QuotaResult{}, fmt.Errorf("reserving documents for %q: %w", tenant, err)
	}
	b.pruneDaily(now)
	var used int64
	err = b.db.Update(func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte(w.key))
		if err != nil {
			return err
		}
		used = decodeCount(bk.Get([]byte(tenant)))
		if !q.wouldAllow(used, n) {
			return errDenied
		}
		used += n
		return bk.Put([]byte(tenant), encodeCount(used))
	})
	switch {
	case errors.Is(err, errDenied):
		return q.result(false, used, w), nil
	case err != nil:
		return QuotaResult{}, fmt.Errorf("reserving documents for %q: %w: %w", tenant, ErrUnavailable, err)
	}
	return q.result(true, used, w), nil
}

// Release implements QuotaStore. A period already pruned is left alone.
func (b *BoltQuotas) Release(ctx context.Context, tenant string, q Quota, n int64, reservedAt time.Time) error {
	w, err := checkRequest(tenant, q, n, reservedAt)
	if err != nil {
		return fmt.Errorf("releasing documents for %q: %w", tenant, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("releasing documents for %q: %w", tenant, err)
	}
	err = b.db.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket([]byte(w.key))
		if bk == nil {
			return nil
		}
		used := decodeCount(bk.Get([]byte(tenant)))
		if used == 0 {
			return nil
		}
		return bk.Put([]byte(tenant), encodeCount(max(used-n, 0)))
	})
	if err != nil {
		return fmt.Errorf("releasing documents for %q: %w: %w", tenant, ErrUnavailable, err)
	}
	return nil
}

// Usage implements QuotaStore.
func (b *BoltQuotas) Usage(ctx context.Context, tenant string, q Quota, now time.Time) (QuotaResult, error) {
	w, err := checkRequest(tenant, q, 1, now)
	if err != nil {
		return QuotaResult{}, fmt.Errorf("reading usage of %q: %w", tenant, err)
	}
	if err := ctx.Err(); err != nil {
		return QuotaResult{}, fmt.Errorf("reading usage of %q: %w", tenant, err)
	}
	var used int64
	err = b.db.View(func(tx *bbolt.Tx) error {
		if bk := tx.Bucket([]byte(w.key)); bk != nil {
			used = decodeCount(bk.Get([]byte(tenant)))
		}
		return nil
	})
	if err != nil {
		return QuotaResult{}, fmt.Errorf("reading usage of %q: %w: %w", tenant, ErrUnavailable, err)
	}
	return q.result(q.wouldAllow(used, 1), used, w), nil
}

// Close closes the file; later calls fail with ErrUnavailable.
func (b *BoltQuotas) Close() error {
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("closing quota file: %w", err)
	}
	return nil
}

// pruneDaily prunes once per UTC day of now. A failed prune is dropped
// rather than failing the Reserve that triggered it: stale counters only
// take space, the next day retries, and a disk that cannot write fails the
// Reserve's own transaction anyway.
func (b *BoltQuotas) pruneDaily(now time.Time) {
	day := now.UTC().Format(dayLayout)
	b.mu.Lock()
	defer b.mu.Unlock()
	if day == b.prunedAt {
		return
	}
	if b.prune(now) == nil {
		b.prunedAt = day
	}
}

// prune deletes the buckets of periods that ended more than pruneGrace
// before now. Buckets with other names are kept.
func (b *BoltQuotas) prune(now time.Time) error {
	err := b.db.Update(func(tx *bbolt.Tx) error {
		var stale [][]byte
		err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			if w, ok := parseWindowKey(string(name)); ok && w.end.Add(pruneGrace).Before(now) {
				stale = append(stale, append([]byte(nil), name...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, name := range stale {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pruning past periods: %w", err)
	}
	return nil
}

func encodeCount(v int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(v))
}

// decodeCount reads a count; a missing or malformed value counts as zero.
func decodeCount(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}
