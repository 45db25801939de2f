package limits

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// reserveScript counts n unless it would pass the limit, and sets the key to
// expire a day after its period, so Redis prunes old periods itself. The
// expiry is a TTL from the caller's now rather than an EXPIREAT: periods are
// judged by the edge's clock, and a Redis clock that disagrees must not drop
// a live counter.
//
// KEYS: counter. ARGV: n, limit (-1 for unlimited), TTL in seconds.
// Returns {allowed (0 or 1), used}.
var reserveScript = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if limit >= 0 and used + n > limit then return {0, used} end
used = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, used}
`)

// releaseScript takes back up to n, never below zero, keeping the key's
// expiry; a missing key (an expired period) is left missing.
//
// KEYS: counter. ARGV: n. Returns the new count.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local n = math.min(tonumber(v), tonumber(ARGV[1]))
return redis.call('DECRBY', KEYS[1], n)
`)

// RedisQuotas is the QuotaStore shared by several edges. Each counter is
// one string key "<prefix>:<tenant>:<period key>", changed only by Lua
// scripts, so reservations from any number of processes never overshoot.
// Run Redis with appendonly for the counts to survive a restart of Redis.
// It is safe for concurrent use.
type RedisQuotas struct {
	client redis.UniversalClient
	prefix string
	cfg    redisConfig
}

var _ QuotaStore = (*RedisQuotas)(nil)

// NewRedisQuotas counts in Redis under prefix. It does no I/O; the client is
// the caller's and Close leaves it open. Each call is bounded by the
// client's timeouts and by WithTimeout (default DefaultTimeout).
func NewRedisQuotas(client redis.UniversalClient, prefix string, opts ...RedisOption) *RedisQuotas {
	return &RedisQuotas{client: client, prefix: prefix, cfg: newRedisConfig(opts)}
}

// Reserve implements QuotaStore.
func (r *RedisQuotas) Reserve(ctx context.Context, tenant string, q Quota, n int64, now time.Time) (QuotaResult, error) {
	w, err := checkRequest(tenant, q, n, now)
	if err != nil {
		return QuotaResult{}, fmt.Errorf("reserving documents for %q: %w", tenant, err)
	}
	if r.client == nil {
		return QuotaResult{}, fmt.Errorf("reserving documents for %q: %w: nil client", tenant, ErrUnavailable)
	}
	limit := q.Documents
	if limit < 0 {
		limit = -1
	}
	ttl := strconv.FormatInt(int64(w.end.Add(pruneGrace).Sub(now)/time.Second)+1, 10)
	ctx, cancel := r.cfg.bound(ctx)
	defer cancel()
	res, err := reserveScript.Run(ctx, r.client, []string{r.key(tenant, w)}, n, limit, ttl).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		return QuotaResult{}, fmt.Errorf("reserving documents for %q: %w: %w", tenant, ErrUnavailable, err)
	}
	return q.result(res[0] == 1, res[1], w), nil
}

// Release implements QuotaStore.
func (r *RedisQuotas) Release(ctx context.Context, tenant string, q Quota, n int64, reservedAt time.Time) error {
	w, err := checkRequest(tenant, q, n, reservedAt)
	if err != nil {
		return fmt.Errorf("releasing documents for %q: %w", tenant, err)
	}
	if r.client == nil {
		return fmt.Errorf("releasing documents for %q: %w: nil client", tenant, ErrUnavailable)
	}
	ctx, cancel := r.cfg.bound(ctx)
	defer cancel()
	if err := releaseScript.Run(ctx, r.client, []string{r.key(tenant, w)}, n).Err(); err != nil {
		return fmt.Errorf("releasing documents for %q: %w: %w", tenant, ErrUnavailable, err)
	}
	return nil
}

// Usage implements QuotaStore.
func (r *RedisQuotas) Usage(ctx context.Context, tenant string, q Quota, now time.Time) (QuotaResult, error) {
	w, err := checkRequest(tenant, q, 1, now)
	if err != nil {
		return QuotaResult{}, fmt.Errorf("reading usage of %q: %w", tenant, err)
	}
	if r.client == nil {
		return QuotaResult{}, fmt.Errorf("reading usage of %q: %w: nil client", tenant, ErrUnavailable)
	}
	ctx, cancel := r.cfg.bound(ctx)
	defer cancel()
	used, err := r.client.Get(ctx, r.key(tenant, w)).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return QuotaResult{}, fmt.Errorf("reading usage of %q: %w: %w", tenant, ErrUnavailable, err)
	}
	return q.result(q.wouldAllow(used, 1), used, w), nil
}

// Close does nothing: the client belongs to the caller.
func (r *RedisQuotas) Close() error { return nil }

// key names a tenant's counter for one period. The period key never holds a
// colon, so the last colon ends the tenant and tenants cannot collide.
func (r *RedisQuotas) key(tenant string, w window) string {
	return r.prefix + ":" + tenant + ":" + w.key
}
