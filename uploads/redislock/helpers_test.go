package redislock_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/uploads/redislock"
	"github.com/redis/go-redis/v9"
	"github.com/tus/tusd/v2/pkg/handler"
)

// newClient connects to srv with the timeouts a production edge would set.
// Each client stands for one edge.
func newClient(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:         srv.Addr(),
		DialTimeout:  300 * time.Millisecond,
		ReadTimeout:  300 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newLocker builds a Locker that logs into the test's output and is closed
// at cleanup, before its client.
func newLocker(t testing.TB, c redis.UniversalClient, cfg redislock.Config) *redislock.Locker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	l := redislock.New(c, cfg)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// newLock is NewLock that fails the test on error.
func newLock(t testing.TB, l handler.Locker, id string) handler.Lock {
	t.Helper()
	lk, err := l.NewLock(id)
	if err != nil {
		t.Fatalf("NewLock(%q): %v", id, err)
	}
	return lk
}

// lockWithin calls Lock under a context that ends after d.
func lockWithin(lk handler.Lock, d time.Duration, requestUnlock func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return lk.Lock(ctx, requestUnlock)
}

// mustLock takes lk within 5s or fails the test.
func mustLock(t testing.TB, lk handler.Lock, requestUnlock func()) {
	t.Helper()
	if err := lockWithin(lk, 5*time.Second, requestUnlock); err != nil {
		t.Fatalf("Lock: %v", err)
	}
}

// mustUnlock unlocks lk or fails the test.
func mustUnlock(t testing.TB, lk handler.Lock) {
	t.Helper()
	if err := lk.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

// eventually polls cond every 10ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// unlockRequests records calls of a requestUnlock callback.
type unlockRequests struct {
	mu    sync.Mutex
	times []time.Time
}

func (r *unlockRequests) request() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times = append(r.times, time.Now())
}

func (r *unlockRequests) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.times)
}

// first is when the first request came; zero before any.
func (r *unlockRequests) first() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.times) == 0 {
		return time.Time{}
	}
	return r.times[0]
}

// exists reports whether key is in Redis.
func exists(t testing.TB, c redis.UniversalClient, key string) bool {
	t.Helper()
	n, err := c.Exists(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	return n == 1
}
