package redislock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/uploads/redislock"
	"github.com/tus/tusd/v2/pkg/handler"
)

// TestReleaseRequest: a holder on one edge hears the release request of a
// waiter on another and hands over, also when the prefix holds PSUBSCRIBE
// pattern characters.
func TestReleaseRequest(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
	}{
		{name: "default prefix"},
		{name: "glob characters in prefix", prefix: `t*?[x]\:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			cfg := redislock.Config{Prefix: tt.prefix}
			a := newLocker(t, newClient(t, srv), cfg)
			b := newLocker(t, newClient(t, srv), cfg)

			holder := newLock(t, a, "upload")
			asked := make(chan time.Time, 1)
			mustLock(t, holder, func() { asked <- time.Now() })

			waited := make(chan error, 1)
			start := time.Now()
			go func() { waited <- lockWithin(newLock(t, b, "upload"), 5*time.Second, nil) }()

			select {
			case at := <-asked:
				if d := at.Sub(start); d > 500*time.Millisecond {
					t.Fatalf("holder asked after %s, want promptly", d)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("holder never asked to unlock")
			}
			mustUnlock(t, holder)
			select {
			case err := <-waited:
				if err != nil {
					t.Fatalf("waiter's Lock: %v", err)
				}
			case <-time.After(time.Second):
				t.Fatal("waiter did not get the lock within 1s of Unlock")
			}
		})
	}
}

// TestRenewalKeepsLock: with a 300ms lease, a holder that keeps renewing
// keeps the lock for 1.5s against another edge.
func TestRenewalKeepsLock(t *testing.T) {
	srv := redistest.Start(t)
	admin := newClient(t, srv)
	cfg := redislock.Config{TTL: 300 * time.Millisecond}
	a := newLocker(t, newClient(t, srv), cfg)
	b := newLocker(t, newClient(t, srv), cfg)

	var asked unlockRequests
	holder := newLock(t, a, "upload")
	mustLock(t, holder, asked.request) // asked by b, but keeps the lock

	err := lockWithin(newLock(t, b, "upload"), 1500*time.Millisecond, nil)
	if !errors.Is(err, handler.ErrLockTimeout) {
		t.Fatalf("Lock against a renewing holder = %v, want handler.ErrLockTimeout", err)
	}
	if !exists(t, admin, redislock.DefaultPrefix+"upload") {
		t.Fatal("lock key gone while its holder renews")
	}
	if n := asked.count(); n != 1 {
		t.Fatalf("holder asked to unlock %d times, want 1", n)
	}
	mustUnlock(t, holder)
	if exists(t, admin, redislock.DefaultPrefix+"upload") {
		t.Fatal("lock key still there after Unlock")
	}
}

// TestCrashExpiry: a holder that stops renewing, here because its client is
// closed as a crashed edge's would be, keeps the lock until its lease runs out
// and loses it then.
func TestCrashExpiry(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = 500 * time.Millisecond
	cfg := redislock.Config{TTL: ttl}
	crashed := newClient(t, srv)
	a := newLocker(t, crashed, cfg)
	b := newLocker(t, newClient(t, srv), cfg)

	start := time.Now()
	mustLock(t, newLock(t, a, "upload"), func() {})
	if err := crashed.Close(); err != nil {
		t.Fatalf("closing the crashed edge's client: %v", err)
	}

	waiter := newLock(t, b, "upload")
	err := lockWithin(waiter, 200*time.Millisecond, nil)
	if !errors.Is(err, handler.ErrLockTimeout) {
		t.Fatalf("Lock before the lease ran out = %v, want handler.ErrLockTimeout", err)
	}
	mustLock(t, waiter, nil)
	took := time.Since(start)
	// Redis counts the lease from its own millisecond clock, which may
	// round down by up to 1ms against the one measuring here.
	if took < ttl-2*time.Millisecond {
		t.Fatalf("lock taken over after %s, before the %s lease ran out", took, ttl)
	}
	if took > ttl+time.Second {
		t.Fatalf("lock taken over after %s, long after the %s lease ran out", took, ttl)
	}
	mustUnlock(t, waiter)
}

// TestStaleUnlock: a holder whose lease ran out while another edge took the
// lock is asked to stop, and its Unlock leaves the new holder's lock alone.
func TestStaleUnlock(t *testing.T) {
	srv := redistest.Start(t)
	admin := newClient(t, srv)
	cfg := redislock.Config{TTL: 2 * time.Second, RenewEvery: 100 * time.Millisecond}
	a := newLocker(t, newClient(t, srv), cfg)
	b := newLocker(t, newClient(t, srv), cfg)
	c := newLocker(t, newClient(t, srv), cfg)
	key := redislock.DefaultPrefix + "upload"

	var staleAsked unlockRequests
	stale := newLock(t, a, "upload")
	mustLock(t, stale, staleAsked.request)
	// The key goes as if the lease had run out, as after a pause longer
	// than the TTL. (A PEXPIRE could race with a renewal.)
	if err := admin.Del(context.Background(), key).Err(); err != nil {
		t.Fatalf("DEL: %v", err)
	}

	var freshAsked unlockRequests
	fresh := newLock(t, b, "upload")
	mustLock(t, fresh, freshAsked.request)
	eventually(t, time.Second, "stale holder asked to stop", func() bool { return staleAsked.count() == 1 })

	mustUnlock(t, stale)
	if !exists(t, admin, key) {
		t.Fatal("a stale holder's Unlock deleted the new holder's lock")
	}
	err := lockWithin(newLock(t, c, "upload"), 300*time.Millisecond, nil)
	if !errors.Is(err, handler.ErrLockTimeout) {
		t.Fatalf("Lock after the stale Unlock = %v, want handler.ErrLockTimeout", err)
	}
	if n := freshAsked.count(); n != 1 {
		t.Fatalf("new holder asked to unlock %d times, want 1 (by the third edge)", n)
	}
	mustUnlock(t, fresh)
	if exists(t, admin, key) {
		t.Fatal("lock key still there after the new holder's Unlock")
	}
}

// TestRedisDown: with Redis gone, Lock fails within about the call timeout
// instead of hanging, a held lock keeps trying to renew until its lease would
// have run out and then asks its holder to stop, and all works again once
// Redis is back.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	const (
		ttl   = 800 * time.Millisecond
		renew = 200 * time.Millisecond
	)
	a := newLocker(t, newClient(t, srv), redislock.Config{TTL: ttl, RenewEvery: renew})

	warm := newLock(t, a, "warm")
	mustLock(t, warm, nil)
	mustUnlock(t, warm)
	var asked unlockRequests
	mustLock(t, newLock(t, a, "held"), asked.request)

	srv.Kill()
	killed := time.Now()

	start := time.Now()
	err := lockWithin(newLock(t, a, "other"), 10*time.Second, nil)
	if err == nil || errors.Is(err, handler.ErrLockTimeout) {
		t.Fatalf("Lock with Redis down = %v, want a Redis error", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Lock with Redis down failed after %s, want within 1s", took)
	}

	// An edge that never reached Redis fails as fast, subscription included.
	fresh := newLocker(t, newClient(t, srv), redislock.Config{})
	start = time.Now()
	if err := lockWithin(newLock(t, fresh, "other"), 10*time.Second, nil); err == nil {
		t.Fatal("Lock on a fresh Locker with Redis down succeeded")
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("Lock on a fresh Locker with Redis down failed after %s", took)
	}

	eventually(t, 2*ttl, "holder asked to stop", func() bool { return asked.count() > 0 })
	// The last renewal that worked went out at most one period before the
	// kill, and the lease counts from there.
	if d := asked.first().Sub(killed); d < ttl-renew-50*time.Millisecond {
		t.Fatalf("holder asked to stop %s after Redis died, before its lease could run out", d)
	}

	srv.Restart()
	for _, l := range []*redislock.Locker{a, fresh} {
		var lk handler.Lock
		eventually(t, 5*time.Second, "Lock after restart", func() bool {
			lk = newLock(t, l, "other")
			return lockWithin(lk, time.Second, nil) == nil
		})
		mustUnlock(t, lk)
	}

	// The subscription is back too: a waiter's release request, repeated
	// while a may still be resubscribing, reaches a's holder.
	var askedAgain unlockRequests
	holder := newLock(t, a, "again")
	mustLock(t, holder, askedAgain.request)
	err = lockWithin(newLock(t, fresh, "again"), 3*time.Second, nil)
	if !errors.Is(err, handler.ErrLockTimeout) {
		t.Fatalf("Lock against a holder = %v, want handler.ErrLockTimeout", err)
	}
	if n := askedAgain.count(); n != 1 {
		t.Fatalf("holder asked to unlock %d times after the restart, want 1", n)
	}
	mustUnlock(t, holder)
}
