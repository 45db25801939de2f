package limits_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/limits"
	"github.com/docstrange/mesh/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// redisOps are the calls an edge makes on every request or accept; each
// must fail fast and closed while Redis is down.
func redisOps(rl *limits.RateLimiter, qs *limits.RedisQuotas) []struct {
	name string
	call func(ctx context.Context) error
} {
	q := limits.Quota{Documents: 100, Period: limits.Month}
	r := limits.Rate{Requests: 100, Period: time.Minute}
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "Take", call: func(ctx context.Context) error { _, err := rl.Take(ctx, "free:acme", r); return err }},
		{name: "Reserve", call: func(ctx context.Context) error { _, err := qs.Reserve(ctx, "acme", q, 1, time.Now()); return err }},
		{name: "Release", call: func(ctx context.Context) error { return qs.Release(ctx, "acme", q, 1, time.Now()) }},
		{name: "Usage", call: func(ctx context.Context) error { _, err := qs.Usage(ctx, "acme", q, time.Now()); return err }},
	}
}

func TestRedisDown(t *testing.T) {
	tests := []struct {
		name    string
		options redis.Options
		opts    []limits.RedisOption
		callTTL time.Duration // the caller's deadline; 0 for none
		within  time.Duration
	}{
		{
			// A production edge's client. go-redis still takes ~1.7s to give
			// up on a refused dial (3 command retries × 5 dials 100ms apart),
			// so DefaultTimeout is what keeps the call short.
			name: "client timeouts 300ms",
			options: redis.Options{DialTimeout: 300 * time.Millisecond,
				ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond},
			within: time.Second,
		},
		{
			name:   "client defaults",
			within: limits.DefaultTimeout + 300*time.Millisecond,
		},
		{
			// No retries: the refused dial comes back at once.
			name: "fail-fast client",
			options: redis.Options{DialTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond,
				DialerRetries: 1, MaxRetries: -1},
			within: 100 * time.Millisecond,
		},
		{
			name:    "caller's shorter deadline",
			opts:    []limits.RedisOption{limits.WithTimeout(time.Minute)},
			callTTL: 200 * time.Millisecond,
			within:  500 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			o := tt.options
			o.Addr = srv.Addr()
			client := redis.NewClient(&o)
			t.Cleanup(func() { _ = client.Close() })
			rl, err := limits.NewRedisRateLimiter(client, "rl", tt.opts...)
			if err != nil {
				t.Fatalf("NewRedisRateLimiter: %v", err)
			}
			ops := redisOps(rl, limits.NewRedisQuotas(client, "quota", tt.opts...))
			callCtx := func() (context.Context, context.CancelFunc) {
				if tt.callTTL > 0 {
					return context.WithTimeout(t.Context(), tt.callTTL)
				}
				return t.Context(), func() {}
			}

			for _, op := range ops {
				if err := op.call(t.Context()); err != nil {
					t.Fatalf("%s before the kill: %v", op.name, err)
				}
			}
			srv.Kill()
			for _, op := range ops {
				ctx, cancel := callCtx()
				start := time.Now()
				err := op.call(ctx)
				took := time.Since(start)
				cancel()
				if !errors.Is(err, limits.ErrUnavailable) {
					t.Fatalf("%s with redis down: %v; want ErrUnavailable", op.name, err)
				}
				if took > tt.within {
					t.Fatalf("%s with redis down took %v; want under %v", op.name, took, tt.within)
				}
			}
			// A restart empties the script cache too: the scripts are resent.
			srv.Restart()
			for _, op := range ops {
				if err := op.call(t.Context()); err != nil {
					t.Fatalf("%s after restart: %v", op.name, err)
				}
			}
		})
	}
}

func TestRedisRateLimiterStartsWithoutRedis(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	srv.Kill()

	start := time.Now()
	rl, err := limits.NewRedisRateLimiter(client, "rl")
	if err != nil {
		t.Fatalf("NewRedisRateLimiter with redis down: %v", err)
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Fatalf("NewRedisRateLimiter took %v; want no I/O", took)
	}
	r := limits.Rate{Requests: 1, Period: time.Minute}
	if _, err := rl.Take(t.Context(), "free:acme", r); !errors.Is(err, limits.ErrUnavailable) {
		t.Fatalf("Take with redis down: %v; want ErrUnavailable", err)
	}
	srv.Restart()
	if got, err := rl.Take(t.Context(), "free:acme", r); err != nil || got.Reached {
		t.Fatalf("Take after redis came up = %+v, %v; want allowed", got, err)
	}
	if got, err := rl.Take(t.Context(), "free:acme", r); err != nil || !got.Reached {
		t.Fatalf("second Take = %+v, %v; want reached", got, err)
	}
}

func TestNewRedisRateLimiterNilClient(t *testing.T) {
	if _, err := limits.NewRedisRateLimiter(nil, "rl"); err == nil {
		t.Fatal("NewRedisRateLimiter(nil) succeeded; want an error")
	}
	_, err := limits.NewRedisQuotas(nil, "quota").Reserve(t.Context(), "acme", limits.Quota{Documents: 1, Period: limits.Day}, 1, time.Now())
	if !errors.Is(err, limits.ErrUnavailable) {
		t.Fatalf("Reserve on a nil client: %v; want ErrUnavailable", err)
	}
}
