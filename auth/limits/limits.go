// Package limits enforces the edge's two budgets: a request rate per
// identity (RateLimiter, fixed windows) and a document quota per tenant and
// calendar period (QuotaStore), counted when a job is accepted.
//
// Each has an embedded backend for a single edge (ulule/limiter's memory
// store for the rate, a bbolt file for quotas, so that a restart keeps the
// month's count) and a Redis backend that several edges share (ulule's
// Redis store for the rate, a busy key's requests taken from it in blocks:
// blocks.go). A store failure comes back as an error matching
// ErrUnavailable, so that the caller can fail closed with 503 instead of
// letting traffic through unmetered.
package limits

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrUnavailable wraps every failure of the backing store (Redis
	// unreachable or timing out, a bbolt write failing, a closed store).
	ErrUnavailable = errors.New("limits: store unavailable")
	// ErrInvalidRate reports a Rate with Requests > 0 and a Period under a
	// millisecond.
	ErrInvalidRate = errors.New("limits: invalid rate")
	// ErrInvalidPeriod reports a quota period other than "day" or "month".
	ErrInvalidPeriod = errors.New("limits: invalid period")
	// ErrInvalidRequest reports an empty tenant or a document count below 1.
	ErrInvalidRequest = errors.New("limits: invalid request")

	// errDenied rolls back a bbolt transaction whose reservation is refused.
	errDenied = errors.New("limits: quota exceeded")
)

// DefaultTimeout bounds each Redis call when the caller's context has no
// earlier deadline. The client's own timeouts bound one network round trip,
// but go-redis multiplies them: every command is retried MaxRetries times
// (default 3), each try redials DialerRetries times (default 5, 100ms apart),
// so a dead server can hold a call for seconds. The edge would rather answer
// 503 at once.
const DefaultTimeout = 500 * time.Millisecond

// RedisOption changes a Redis-backed RateLimiter or RedisQuotas.
type RedisOption func(*redisConfig)

type redisConfig struct {
	timeout time.Duration
}

// WithTimeout sets the bound on each Redis call (default DefaultTimeout).
// Zero or less leaves only the client's own timeouts and the caller's
// context.
func WithTimeout(d time.Duration) RedisOption {
	return func(c *redisConfig) { c.timeout = d }
}

func newRedisConfig(opts []RedisOption) redisConfig {
	c := redisConfig{timeout: DefaultTimeout}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// bound applies the call timeout unless ctx already ends sooner.
func (c redisConfig) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return ctx, func() {}
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= c.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}
