package index

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names in the bbolt file.
var (
	// bucketExpiry maps expiry key (sortable milliseconds, then id) to nothing:
	// a cursor walks it oldest first.
	bucketExpiry = []byte("expiry")
	// bucketIDs maps id to its record: milliseconds, then owner.
	bucketIDs = []byte("ids")
)

// boltOpenTimeout bounds the wait for the file lock, which another process
// holding the same file would keep forever.
const boltOpenTimeout = 5 * time.Second

// Bolt is an Index in a bbolt file, for an edge that keeps its uploads in its
// own data folder. It survives restarts; one process at a time may open it.
type Bolt struct {
	db     *bolt.DB
	closed atomic.Bool
}

// OpenBolt opens the index file at path, creating it and its buckets if
// needed. It fails after a few seconds when another process holds the file.
func OpenBolt(path string) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: boltOpenTimeout})
	if err != nil {
		return nil, fmt.Errorf("opening upload index %q: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketExpiry, bucketIDs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("creating bucket %q: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialising upload index %q: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

// Add implements Index. The old expiry key and the new one change in one
// transaction, so a replaced entry never shows up twice.
func (b *Bolt) Add(ctx context.Context, e Entry) error {
	if err := b.ready(ctx); err != nil {
		return err
	}
	if err := checkEntry(e); err != nil {
		return err
	}
	ms := e.Expires.UnixMilli()
	err := b.db.Update(func(tx *bolt.Tx) error {
		ids, exp := tx.Bucket(bucketIDs), tx.Bucket(bucketExpiry)
		if old := ids.Get([]byte(e.ID)); old != nil {
			oldMs, _, err := decodeRecord(old)
			if err != nil {
				return err
			}
			if err := exp.Delete(expiryKey(oldMs, e.ID)); err != nil {
				return err
			}
		}
		if err := exp.Put(expiryKey(ms, e.ID), nil); err != nil {
			return err
		}
		return ids.Put([]byte(e.ID), encodeRecord(ms, e.Owner))
	})
	if err != nil {
		return fmt.Errorf("adding upload %q: %w", e.ID, err)
	}
	return nil
}

// Get implements Index.
func (b *Bolt) Get(ctx context.Context, id string) (Entry, error) {
	if err := b.ready(ctx); err != nil {
		return Entry{}, err
	}
	if err := checkID(id); err != nil {
		return Entry{}, err
	}
	var e Entry
	err := b.db.View(func(tx *bolt.Tx) error {
		rec := tx.Bucket(bucketIDs).Get([]byte(id))
		if rec == nil {
			return ErrNotFound
		}
		ms, owner, err := decodeRecord(rec)
		if err != nil {
			return err
		}
		e = Entry{ID: id, Owner: owner, Expires: fromMillis(ms)}
		return nil
	})
	if err != nil {
		return Entry{}, fmt.Errorf("getting upload %q: %w", id, err)
	}
	return e, nil
}

// Due implements Index by walking the expiry bucket from its start.
func (b *Bolt) Due(ctx context.Context, now time.Time, limit int) ([]Entry, error) {
	if err := b.ready(ctx); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	end := now.UnixMilli()
	var due []Entry
	err := b.db.View(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketIDs)
		c := tx.Bucket(bucketExpiry).Cursor()
		for k, _ := c.First(); k != nil && len(due) < limit; k, _ = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			ms, id, err := decodeExpiryKey(k)
			if err != nil {
				return err
			}
			if ms > end {
				break
			}
			rec := ids.Get([]byte(id))
			if rec == nil {
				return fmt.Errorf("expiry key for upload %q has no record", id)
			}
			_, owner, err := decodeRecord(rec)
			if err != nil {
				return err
			}
			due = append(due, Entry{ID: id, Owner: owner, Expires: fromMillis(ms)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing due uploads: %w", err)
	}
	return due, nil
}

// Remove implements Index.
func (b *Bolt) Remove(ctx context.Context, id string) error {
	if err := b.ready(ctx); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketIDs)
		rec := ids.Get([]byte(id))
		if rec == nil {
			return nil
		}
		ms, _, err := decodeRecord(rec)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketExpiry).Delete(expiryKey(ms, id)); err != nil {
			return err
		}
		return ids.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("removing upload %q: %w", id, err)
	}
	return nil
}

// Close implements Index. It waits for transactions in flight.
func (b *Bolt) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("closing upload index: %w", err)
	}
	return nil
}

// ready refuses calls on a closed index or an ended context.
func (b *Bolt) ready(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// expiryKey is ms as big-endian with the sign bit flipped, so that byte
// order is time order before 1970 too, followed by id.
func expiryKey(ms int64, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(ms)^(1<<63))
	copy(k[8:], id)
	return k
}

func decodeExpiryKey(k []byte) (ms int64, id string, err error) {
	if len(k) <= 8 {
		return 0, "", fmt.Errorf("corrupt expiry key %x", k)
	}
	return int64(binary.BigEndian.Uint64(k) ^ (1 << 63)), string(k[8:]), nil
}

// encodeRecord is the ids bucket's value: ms big-endian, then owner.
func encodeRecord(ms int64, owner string) []byte {
	rec := make([]byte, 8+len(owner))
	binary.BigEndian.PutUint64(rec, uint64(ms))
	copy(rec[8:], owner)
	return rec
}

func decodeRecord(rec []byte) (ms int64, owner string, err error) {
	if len(rec) < 8 {
		return 0, "", errors.New("corrupt upload record")
	}
	return int64(binary.BigEndian.Uint64(rec)), string(rec[8:]), nil
}

// Interface guard.
var _ Index = (*Bolt)(nil)
