package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/redisstore"
	"github.com/docstrange/mesh/scheduler/storetest"
)

func storedJob(t *testing.T, s *redisstore.Store) *scheduler.Job {
	t.Helper()
	j := &scheduler.Job{ID: storetest.NewID(), Tenant: "acme", Status: scheduler.StatusQueued, CreatedAt: time.Now().UTC()}
	if _, err := s.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestNamedQueues: a named queue (a worker's placed jobs) shares the
// store's records and lease rules but not its entries: what is enqueued on
// one is claimed only there, a re-enqueue replaces the entry and voids the
// old lease, an expired lease is handed out again, and entries of deleted
// jobs are dropped.
func TestNamedQueues(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, testConfig(srv.Addr()))
	ctx := t.Context()
	w1, err := s.Queue(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	w2, err := s.Queue(ctx, "w2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Queue(ctx, "bad name"); err == nil {
		t.Fatal("Queue accepted a name with a space")
	}

	t.Run("isolated from the main queue and each other", func(t *testing.T) {
		j := storedJob(t, s)
		main := storetest.ClaimWithin(t, s, "scheduler", time.Minute, 2*time.Second)
		if main == nil || main.JobID != j.ID {
			t.Fatalf("main queue claim = %+v", main)
		}
		if err := w1.Enqueue(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Ack(ctx, main); err != nil {
			t.Fatal(err)
		}
		if l := storetest.ClaimWithin(t, w2, "w2", time.Minute, 300*time.Millisecond); l != nil {
			t.Fatalf("w2 claimed %s, placed on w1", l.JobID)
		}
		st, err := w1.Stats(ctx)
		if err != nil || st.Depth != 1 {
			t.Fatalf("w1 stats = %+v, %v; want depth 1", st, err)
		}
		l := storetest.ClaimWithin(t, w1, "w1", time.Minute, 2*time.Second)
		if l == nil || l.JobID != j.ID {
			t.Fatalf("w1 claim = %+v", l)
		}
		if err := w1.Extend(ctx, l, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := w1.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
		if l := storetest.ClaimWithin(t, s, "scheduler", time.Minute, 300*time.Millisecond); l != nil {
			t.Fatalf("the main queue handed out %s again", l.JobID)
		}
	})

	t.Run("re-enqueue voids the old lease", func(t *testing.T) {
		j := storedJob(t, s)
		drainMain(t, s)
		if err := w1.Enqueue(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		old := storetest.ClaimWithin(t, w1, "w1", time.Minute, 2*time.Second)
		if old == nil {
			t.Fatal("no claim")
		}
		if err := w1.Enqueue(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if err := w1.Extend(ctx, old, time.Minute); !errors.Is(err, scheduler.ErrLeaseLost) {
			t.Fatalf("Extend of the replaced lease = %v; want ErrLeaseLost", err)
		}
		again := storetest.ClaimWithin(t, w1, "w1", time.Minute, 2*time.Second)
		if again == nil || again.JobID != j.ID || again.Token == old.Token {
			t.Fatalf("after re-enqueue: %+v", again)
		}
		if err := w1.Ack(ctx, again); err != nil {
			t.Fatal(err)
		}
		if l := storetest.ClaimWithin(t, w1, "w1", time.Minute, 300*time.Millisecond); l != nil {
			t.Fatalf("the job was handed out a third time: %+v", l)
		}
	})

	t.Run("expired lease handed out again", func(t *testing.T) {
		j := storedJob(t, s)
		drainMain(t, s)
		if err := w2.Enqueue(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if l := storetest.ClaimWithin(t, w2, "w2", 300*time.Millisecond, 2*time.Second); l == nil {
			t.Fatal("no claim")
		}
		l := storetest.ClaimWithin(t, w2, "w2-restarted", time.Minute, 3*time.Second)
		if l == nil || l.JobID != j.ID {
			t.Fatalf("after the lease expired: %+v", l)
		}
		if err := w2.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("entries of deleted jobs are dropped", func(t *testing.T) {
		j := storedJob(t, s)
		drainMain(t, s)
		if err := w1.Enqueue(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if l := storetest.ClaimWithin(t, w1, "w1", time.Minute, 300*time.Millisecond); l != nil {
			t.Fatalf("claimed deleted job %s", l.JobID)
		}
	})
}

// drainMain acknowledges whatever the main queue holds.
func drainMain(t *testing.T, s *redisstore.Store) {
	t.Helper()
	for {
		l := storetest.ClaimWithin(t, s, "drain", time.Minute, 200*time.Millisecond)
		if l == nil {
			return
		}
		if err := s.Ack(t.Context(), l); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTryClaim: TryClaim never waits: nothing claimable gives nil, nil; a
// queued job, then a job whose lease ran out, are handed out as by Claim.
func TestTryClaim(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.New(t.Context(), redisstore.Config{Addr: srv.Addr(), Prefix: "try:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	start := time.Now()
	if l, err := s.TryClaim(t.Context(), "c", time.Minute); l != nil || err != nil {
		t.Fatalf("TryClaim on an empty queue = %+v, %v", l, err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("TryClaim on an empty queue waited %s", took)
	}
	j := storedJob(t, s)
	l, err := s.TryClaim(t.Context(), "c", 50*time.Millisecond)
	if err != nil || l == nil || l.JobID != j.ID {
		t.Fatalf("TryClaim = %+v, %v; want job %s", l, err, j.ID)
	}
	if l, err := s.TryClaim(t.Context(), "c", time.Minute); l != nil || err != nil {
		t.Fatalf("TryClaim with the only job leased = %+v, %v", l, err)
	}
	time.Sleep(100 * time.Millisecond)
	again, err := s.TryClaim(t.Context(), "d", time.Minute)
	if err != nil || again == nil || again.JobID != j.ID || again.Token == l.Token {
		t.Fatalf("TryClaim after the lease ran out = %+v, %v", again, err)
	}
	if _, err := s.TryClaim(t.Context(), "", time.Minute); err == nil {
		t.Fatal("TryClaim without a consumer name succeeded")
	}
}
