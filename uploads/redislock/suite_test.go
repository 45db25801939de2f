package redislock_test

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/uploads/redislock"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
)

var (
	_ handler.Locker = (*redislock.Locker)(nil)
	_ handler.Locker = (*memorylocker.MemoryLocker)(nil)
)

// edges is two handles on one lock space: two Lockers over two clients of
// one Redis, as two edges have, or the same MemoryLocker twice.
type edges struct {
	a, b handler.Locker
}

// backends lists every handler.Locker this suite holds to the same
// behaviour: tusd's memorylocker is the reference the Redis locker mirrors
// (STYLE.md: same suite for every implementation).
var backends = []struct {
	name  string
	setup func(t *testing.T) edges
}{
	{name: "memory", setup: func(*testing.T) edges {
		m := memorylocker.New()
		return edges{a: m, b: m}
	}},
	{name: "redis", setup: func(t *testing.T) edges {
		srv := redistest.Start(t)
		return edges{
			a: newLocker(t, newClient(t, srv), redislock.Config{}),
			b: newLocker(t, newClient(t, srv), redislock.Config{}),
		}
	}},
}

// forEachBackend runs test once per backend.
func forEachBackend(t *testing.T, test func(t *testing.T, e edges)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.setup(t)) })
	}
}

// TestLockAndUnlock is tusd's TestMemoryLocker_LockAndUnlock: an
// uncontended lock asks nobody to unlock.
func TestLockAndUnlock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e edges) {
		var asked unlockRequests
		lk := newLock(t, e.a, "one")
		mustLock(t, lk, asked.request)
		mustUnlock(t, lk)
		// Lock again after Unlock, as the next PATCH of an upload does.
		mustLock(t, lk, asked.request)
		mustUnlock(t, lk)
		if n := asked.count(); n != 0 {
			t.Fatalf("requestUnlock called %d times without contention", n)
		}
	})
}

// TestLockTimeout is tusd's TestMemoryLocker_Timeout across edges: while a
// holds the lock, b's Lock asks a to unlock, once, and gives up with
// handler.ErrLockTimeout when its context ends; once a unlocks, b gets it.
func TestLockTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e edges) {
		var asked, waiterAsked unlockRequests
		holder := newLock(t, e.a, "one")
		mustLock(t, holder, asked.request) // asked, but never lets go

		waiter := newLock(t, e.b, "one")
		start := time.Now()
		err := lockWithin(waiter, 300*time.Millisecond, waiterAsked.request)
		if !errors.Is(err, handler.ErrLockTimeout) {
			t.Fatalf("Lock while held = %v, want handler.ErrLockTimeout", err)
		}
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Fatalf("Lock gave up after %s, before its context ended", took)
		}
		eventually(t, time.Second, "holder asked to unlock", func() bool { return asked.count() > 0 })

		mustUnlock(t, holder)
		mustLock(t, waiter, waiterAsked.request)
		mustUnlock(t, waiter)
		if n := asked.count(); n != 1 {
			t.Fatalf("holder asked to unlock %d times, want 1", n)
		}
		if n := waiterAsked.count(); n != 0 {
			t.Fatalf("waiter's requestUnlock called %d times", n)
		}
	})
}

// TestRequestUnlock is tusd's TestMemoryLocker_RequestUnlock across edges:
// a holder that honours the request hands the lock over promptly.
func TestRequestUnlock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e edges) {
		holder := newLock(t, e.a, "one")
		var asked atomic.Int32
		released := make(chan error, 1)
		mustLock(t, holder, func() {
			if asked.Add(1) == 1 {
				time.Sleep(10 * time.Millisecond)
				released <- holder.Unlock()
			}
		})

		waiter := newLock(t, e.b, "one")
		start := time.Now()
		mustLock(t, waiter, nil)
		if took := time.Since(start); took > time.Second {
			t.Fatalf("waiter got the lock after %s, want well under 1s", took)
		}
		if err := <-released; err != nil {
			t.Fatalf("holder's Unlock: %v", err)
		}
		mustUnlock(t, waiter)
		if n := asked.Load(); n != 1 {
			t.Fatalf("holder asked to unlock %d times, want 1", n)
		}
	})
}

// TestMutualExclusion has 20 goroutines on two edges contend for one upload
// and checks that no two critical sections overlapped, both with an in-section
// counter and by their recorded intervals.
func TestMutualExclusion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e edges) {
		const workers = 20
		type span struct{ in, out time.Time }
		var (
			inSection, maxInSection atomic.Int32
			// The mutex only keeps the race detector quiet: it cannot see
			// an ordering that Redis provides. Overlap is judged by the
			// counter and the spans, not by this mutex.
			mu    sync.Mutex
			order []int
			spans []span
			wg    sync.WaitGroup
		)
		errs := make(chan error, workers)
		for i := range workers {
			locker := e.a
			if i%2 == 1 {
				locker = e.b
			}
			wg.Go(func() {
				lk, err := locker.NewLock("shared")
				if err != nil {
					errs <- err
					return
				}
				if err := lockWithin(lk, 30*time.Second, func() {}); err != nil {
					errs <- err
					return
				}
				in := time.Now()
				n := inSection.Add(1)
				for {
					m := maxInSection.Load()
					if n <= m || maxInSection.CompareAndSwap(m, n) {
						break
					}
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				inSection.Add(-1)
				out := time.Now()
				mu.Lock()
				spans = append(spans, span{in, out})
				mu.Unlock()
				errs <- lk.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("worker: %v", err)
			}
		}
		if m := maxInSection.Load(); m != 1 {
			t.Fatalf("%d goroutines were in the critical section at once", m)
		}
		if len(order) != workers {
			t.Fatalf("%d appends, want %d", len(order), workers)
		}
		slices.SortFunc(spans, func(x, y span) int { return x.in.Compare(y.in) })
		for i := 1; i < len(spans); i++ {
			if spans[i].in.Before(spans[i-1].out) {
				t.Fatalf("critical sections overlap: %v and %v", spans[i-1], spans[i])
			}
		}
	})
}
