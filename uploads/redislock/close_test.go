package redislock_test

import (
	"errors"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/uploads/redislock"
)

// TestClose: Close stops waiting Locks, asks its holders to stop since their
// leases are no longer renewed, deletes no key (least of all another edge's),
// and leaves Unlock of its own held locks working.
func TestClose(t *testing.T) {
	srv := redistest.Start(t)
	admin := newClient(t, srv)
	a := redislock.New(newClient(t, srv), redislock.Config{})
	b := newLocker(t, newClient(t, srv), redislock.Config{})

	var asked unlockRequests
	own := newLock(t, a, "own")
	mustLock(t, own, asked.request)
	theirs := newLock(t, b, "theirs")
	mustLock(t, theirs, func() {})

	waited := make(chan error, 1)
	go func() { waited <- lockWithin(newLock(t, a, "theirs"), 10*time.Second, nil) }()
	time.Sleep(200 * time.Millisecond) // let the waiter start polling

	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-waited:
		if !errors.Is(err, redislock.ErrClosed) {
			t.Fatalf("waiting Lock after Close = %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("waiting Lock still blocked after Close")
	}
	eventually(t, time.Second, "holder asked to stop", func() bool { return asked.count() == 1 })
	for _, key := range []string{"own", "theirs"} {
		if !exists(t, admin, redislock.DefaultPrefix+key) {
			t.Fatalf("Close deleted lock key %q", key)
		}
	}

	mustUnlock(t, own)
	if exists(t, admin, redislock.DefaultPrefix+"own") {
		t.Fatal("Unlock after Close left the key")
	}
	if err := lockWithin(newLock(t, a, "new"), time.Second, nil); !errors.Is(err, redislock.ErrClosed) {
		t.Fatalf("Lock after Close = %v, want ErrClosed", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	mustUnlock(t, theirs)
}

// TestCloseUnused: a Locker that never locked has nothing to stop.
func TestCloseUnused(t *testing.T) {
	l := redislock.New(newClient(t, redistest.Start(t)), redislock.Config{})
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
