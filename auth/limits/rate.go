package limits

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"
)

// Rate is a request budget: Requests per Period. Requests <= 0 means
// unlimited.
type Rate struct {
	// Requests is how many requests a key may make in one window.
	Requests int64
	// Period is the window's length. When Requests > 0 it must be at least
	// a millisecond: Redis keeps the window as a PEXPIRE in milliseconds,
	// and a zero TTL would never reset the count.
	Period time.Duration
}

// RateResult is what the RateLimit-* headers report.
type RateResult struct {
	// Limit is the Rate's Requests, or -1 for an unlimited Rate, in which
	// case the other fields are zero and no headers should be sent.
	Limit int64
	// Remaining is how many more requests the window allows; 0 once Reached.
	// It never says more remain than do. On Redis it is exact for a key that
	// one edge serves alone; with several edges it is what the window had
	// left when this edge last took a block, less what this edge admitted
	// since: it counts the other edges' unspent blocks as spent, and does
	// not see what they admitted after that. Fewer requests than it says may
	// be admitted, never more: slots held in a block when the window's end
	// draws near, and those of a block that crosses the limit, are lost
	// (blocks.go).
	Remaining int64
	// Reset is when the current window ends, to the second (rounded down).
	Reset time.Time
	// Reached is true when this request is over the budget and must be
	// refused.
	Reached bool
}

// RateLimiter counts requests per key in fixed windows. The caller passes a
// key such as "<tier>:<tenant>": a window's length is fixed by the first
// request that opens it, so a key that changes Rate (a tier change) should
// change too. It is safe for concurrent use.
type RateLimiter struct {
	store  limiter.Store // in memory
	blocks *blocks       // on Redis
}

// NewMemoryRateLimiter counts in this process's memory, for an embedded edge
// that runs alone. Keys are namespaced by prefix.
func NewMemoryRateLimiter(prefix string) *RateLimiter {
	store := memory.NewStoreWithOptions(limiter.StoreOptions{
		Prefix:          prefix,
		CleanUpInterval: limiter.DefaultCleanUpInterval,
	})
	// The memory store never blocks and ignores ctx: no timeout to apply.
	return &RateLimiter{store: store}
}

// NewRedisRateLimiter counts in Redis through ulule/limiter's Redis store,
// so that every edge sharing the server shares each key's budget. Keys are
// "<prefix>:<key>", the store's. A busy key's requests are taken from the
// store in blocks and counted down here (blocks.go): no edge, and no set of
// edges, ever admits more than the rate; a few slots a window may go unused.
// The client is the caller's and stays open.
//
// It does no I/O: an edge may start while Redis is down, and its Takes fail
// with ErrUnavailable until Redis answers. Set the client's DialTimeout and
// ReadTimeout to what a request can afford; each trip to Redis is also
// bounded by WithTimeout (default DefaultTimeout).
func NewRedisRateLimiter(client redis.UniversalClient, prefix string, opts ...RedisOption) (*RateLimiter, error) {
	if client == nil {
		return nil, errors.New("creating redis rate limiter: nil client")
	}
	// ulule's constructor loads its scripts with context.Background(), which
	// nothing can cancel; lazyScripts answers that load locally and sends the
	// script on first use instead.
	store, err := redisstore.NewStoreWithOptions(newLazyScripts(client), limiter.StoreOptions{Prefix: prefix})
	if err != nil {
		return nil, fmt.Errorf("creating redis rate limiter: %w", err)
	}
	return &RateLimiter{blocks: newBlocks(store, newRedisConfig(opts))}, nil
}

// Take counts one request for key against rate and reports the window's
// state. An unlimited rate (Requests <= 0) returns RateResult{Limit: -1}
// without touching the store. A store failure returns an error matching
// ErrUnavailable; the request should then be refused. On Redis, a Take
// that its edge's block answers does no I/O, so a Redis that has just died
// is noticed when the block is spent.
func (l *RateLimiter) Take(ctx context.Context, key string, rate Rate) (RateResult, error) {
	if rate.Requests <= 0 {
		return RateResult{Limit: -1}, nil
	}
	if rate.Period < time.Millisecond {
		return RateResult{}, fmt.Errorf("taking request for %q: %w: period %v", key, ErrInvalidRate, rate.Period)
	}
	if l.blocks != nil {
		return l.blocks.take(ctx, key, rate)
	}
	c, err := l.store.Get(ctx, key, limiter.Rate{Limit: rate.Requests, Period: rate.Period})
	if err != nil {
		return RateResult{}, fmt.Errorf("taking request for %q: %w: %w", key, ErrUnavailable, err)
	}
	return RateResult{
		Limit:     c.Limit,
		Remaining: c.Remaining,
		Reset:     time.Unix(c.Reset, 0),
		Reached:   c.Reached,
	}, nil
}
