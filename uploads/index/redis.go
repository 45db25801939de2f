package index

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is the key prefix NewRedis uses for an empty prefix.
const DefaultRedisPrefix = "tus:index:"

// Hash fields of an upload's entry.
const (
	fieldOwner   = "owner"
	fieldExpires = "expires" // milliseconds since the Unix epoch, in decimal
)

// Redis is an Index in Redis, shared by every edge that serves one store:
// a sorted set of ids scored by expiry in milliseconds, which float64 scores
// hold exactly, and a hash per id with its owner and expiry.
//
// Its keys are prefix+"expiry" and prefix+"upload:"+id. Add and Remove change
// both in one MULTI, so on Redis Cluster the prefix must hold a hash tag,
// such as "{tus-index}:", that puts every key in one slot.
type Redis struct {
	client redis.UniversalClient
	prefix string
	closed atomic.Bool
}

// NewRedis returns an Index over client, with keys under prefix (default
// DefaultRedisPrefix). It does no I/O. The client stays the caller's: Close
// does not close it.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &Redis{client: client, prefix: prefix}
}

func (r *Redis) expiryKey() string          { return r.prefix + "expiry" }
func (r *Redis) uploadKey(id string) string { return r.prefix + "upload:" + id }

// Add implements Index. ZADD replaces the score of an id already present,
// which moves its expiry; the hash is rewritten in the same transaction.
func (r *Redis) Add(ctx context.Context, e Entry) error {
	if err := r.ready(ctx); err != nil {
		return err
	}
	if err := checkEntry(e); err != nil {
		return err
	}
	ms := e.Expires.UnixMilli()
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, r.expiryKey(), redis.Z{Score: float64(ms), Member: e.ID})
		p.HSet(ctx, r.uploadKey(e.ID), fieldOwner, e.Owner, fieldExpires, ms)
		return nil
	})
	if err != nil {
		return fmt.Errorf("adding upload %q: %w", e.ID, err)
	}
	return nil
}

// Get implements Index.
func (r *Redis) Get(ctx context.Context, id string) (Entry, error) {
	if err := r.ready(ctx); err != nil {
		return Entry{}, err
	}
	if err := checkID(id); err != nil {
		return Entry{}, err
	}
	vals, err := r.client.HMGet(ctx, r.uploadKey(id), fieldOwner, fieldExpires).Result()
	if err != nil {
		return Entry{}, fmt.Errorf("getting upload %q: %w", id, err)
	}
	e, ok, err := parseEntry(id, vals)
	if err != nil {
		return Entry{}, fmt.Errorf("getting upload %q: %w", id, err)
	}
	if !ok {
		return Entry{}, fmt.Errorf("getting upload %q: %w", id, ErrNotFound)
	}
	return e, nil
}

// Due implements Index: one ZRANGE by score for the ids, then one pipeline
// of HMGETs for their owners. An id removed in between is skipped, and an id
// replaced in between is skipped unless its new expiry is due too.
func (r *Redis) Due(ctx context.Context, now time.Time, limit int) ([]Entry, error) {
	if err := r.ready(ctx); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	end := now.UnixMilli()
	ids, err := r.client.ZRangeByScore(ctx, r.expiryKey(), &redis.ZRangeBy{
		Min:   "-inf",
		Max:   strconv.FormatInt(end, 10),
		Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("listing due uploads: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, r.uploadKey(id), fieldOwner, fieldExpires)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading due uploads: %w", err)
	}
	due := make([]Entry, 0, len(ids))
	for i, id := range ids {
		e, ok, err := parseEntry(id, cmds[i].Val())
		if err != nil {
			return nil, fmt.Errorf("reading due upload %q: %w", id, err)
		}
		if ok && e.Expires.UnixMilli() <= end {
			due = append(due, e)
		}
	}
	return due, nil
}

// Remove implements Index.
func (r *Redis) Remove(ctx context.Context, id string) error {
	if err := r.ready(ctx); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, r.expiryKey(), id)
		p.Del(ctx, r.uploadKey(id))
		return nil
	})
	if err != nil {
		return fmt.Errorf("removing upload %q: %w", id, err)
	}
	return nil
}

// Close implements Index. It leaves the client open: the caller owns it.
func (r *Redis) Close() error {
	r.closed.Store(true)
	return nil
}

// ready refuses calls on a closed index or an ended context.
func (r *Redis) ready(ctx context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// parseEntry reads an HMGET of owner and expires. ok is false when the hash
// is missing.
func parseEntry(id string, vals []any) (e Entry, ok bool, err error) {
	if len(vals) != 2 || vals[1] == nil {
		return Entry{}, false, nil
	}
	s, isString := vals[1].(string)
	if !isString {
		return Entry{}, false, errors.New("corrupt expiry field")
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return Entry{}, false, fmt.Errorf("parsing expiry %q: %w", s, err)
	}
	owner, _ := vals[0].(string)
	return Entry{ID: id, Owner: owner, Expires: fromMillis(ms)}, true, nil
}

// Interface guard.
var _ Index = (*Redis)(nil)
