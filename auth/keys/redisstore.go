package keys

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hash fields of a record in Redis.
const (
	fieldTenant    = "tenant"
	fieldTier      = "tier"
	fieldName      = "name"
	fieldCreatedAt = "created_at"
	fieldRevokedAt = "revoked_at"
	fieldHash      = "hash"
)

// listBatch is how many records List reads per pipeline round trip.
const listBatch = 500

// createScript stores the record and indexes it, unless the id is taken.
//
// KEYS: record hash, index sorted set. ARGV: score, id, field/value pairs.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// revokeScript sets revoked_at unless it is set and returns the record, or
// nil when there is none.
//
// KEYS: record hash. ARGV: revoked_at.
var revokeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'revoked_at', ARGV[1])
return redis.call('HGETALL', KEYS[1])
`)

// RedisStore keeps records in Redis, shared by every edge: the production
// Store. Layout under the prefix:
//
//	key:{id}  hash: tenant, tier, name, created_at and revoked_at
//	          (RFC 3339, UTC, nanoseconds), hash (hex)
//	keys      sorted set of ids, score created_at in unix nanoseconds
//
// Create and Revoke are Lua scripts, so each is atomic. On Redis Cluster the
// prefix must contain a hash tag, such as "{apikeys}:", so that a record and
// the index share a slot.
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
	closed atomic.Bool
}

// NewRedis returns a store over client, with every key name starting with
// prefix. The caller owns client: Close does not close it.
func NewRedis(client redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{rdb: client, prefix: prefix}
}

func (s *RedisStore) recordKey(id string) string { return s.prefix + "key:" + id }
func (s *RedisStore) indexKey() string           { return s.prefix + "keys" }

// Create implements Store.
func (s *RedisStore) Create(ctx context.Context, k Key) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if k.ID == "" || len(k.Hash) == 0 {
		return errors.New("creating key: record needs an id and a hash")
	}
	args := []any{
		strconv.FormatInt(k.CreatedAt.UnixNano(), 10), k.ID,
		fieldTenant, k.Tenant,
		fieldTier, k.Tier,
		fieldName, k.Name,
		fieldCreatedAt, formatTime(k.CreatedAt),
		fieldHash, hex.EncodeToString(k.Hash),
	}
	if k.RevokedAt != nil {
		args = append(args, fieldRevokedAt, formatTime(*k.RevokedAt))
	}
	n, err := createScript.Run(ctx, s.rdb, []string{s.recordKey(k.ID), s.indexKey()}, args...).Int()
	if err != nil {
		return fmt.Errorf("creating key %q: %w", k.ID, err)
	}
	if n == 0 {
		return ErrExists
	}
	return nil
}

// Get implements Store.
func (s *RedisStore) Get(ctx context.Context, id string) (Key, error) {
	if s.closed.Load() {
		return Key{}, ErrClosed
	}
	m, err := s.rdb.HGetAll(ctx, s.recordKey(id)).Result()
	if err != nil {
		return Key{}, fmt.Errorf("reading key %q: %w", id, err)
	}
	if len(m) == 0 {
		return Key{}, ErrNotFound
	}
	return decodeHash(id, m)
}

// List implements Store. It reads the index, then the records in pipelined
// batches; an id whose record vanished in between is skipped.
func (s *RedisStore) List(ctx context.Context) ([]Key, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ids, err := s.rdb.ZRange(ctx, s.indexKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	ks := make([]Key, 0, len(ids))
	for start := 0; start < len(ids); start += listBatch {
		batch := ids[start:min(start+listBatch, len(ids))]
		cmds := make([]*redis.MapStringStringCmd, len(batch))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range batch {
				cmds[i] = p.HGetAll(ctx, s.recordKey(id))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing keys: %w", err)
		}
		for i, c := range cmds {
			m := c.Val()
			if len(m) == 0 {
				continue
			}
			k, err := decodeHash(batch[i], m)
			if err != nil {
				return nil, fmt.Errorf("listing keys: %w", err)
			}
			ks = append(ks, k)
		}
	}
	// Scores are float64 and so coarser than nanoseconds; the records'
	// own times give the exact order.
	sortKeys(ks)
	return ks, nil
}

// Revoke implements Store.
func (s *RedisStore) Revoke(ctx context.Context, id string, at time.Time) (Key, error) {
	if s.closed.Load() {
		return Key{}, ErrClosed
	}
	res, err := revokeScript.Run(ctx, s.rdb, []string{s.recordKey(id)}, formatTime(at)).StringSlice()
	if errors.Is(err, redis.Nil) {
		return Key{}, ErrNotFound
	}
	if err != nil {
		return Key{}, fmt.Errorf("revoking key %q: %w", id, err)
	}
	if len(res)%2 != 0 {
		return Key{}, fmt.Errorf("revoking key %q: odd HGETALL reply", id)
	}
	m := make(map[string]string, len(res)/2)
	for i := 0; i < len(res); i += 2 {
		m[res[i]] = res[i+1]
	}
	return decodeHash(id, m)
}

// Close marks the store closed; later calls return ErrClosed. The client
// stays open: the caller owns it.
func (s *RedisStore) Close() error {
	s.closed.Store(true)
	return nil
}

// decodeHash turns a record's hash fields into a Key.
func decodeHash(id string, m map[string]string) (Key, error) {
	k := Key{ID: id, Tenant: m[fieldTenant], Tier: m[fieldTier], Name: m[fieldName]}
	var err error
	if k.CreatedAt, err = parseTime(m[fieldCreatedAt]); err != nil {
		return Key{}, fmt.Errorf("decoding key %q: created_at: %w", id, err)
	}
	if v, ok := m[fieldRevokedAt]; ok {
		t, err := parseTime(v)
		if err != nil {
			return Key{}, fmt.Errorf("decoding key %q: revoked_at: %w", id, err)
		}
		k.RevokedAt = &t
	}
	if k.Hash, err = hex.DecodeString(m[fieldHash]); err != nil || len(k.Hash) == 0 {
		return Key{}, fmt.Errorf("decoding key %q: bad hash", id)
	}
	return k, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
