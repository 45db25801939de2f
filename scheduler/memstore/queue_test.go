package memstore_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/memstore"
	"github.com/docstrange/mesh/scheduler/storetest"
)

func created(t *testing.T, s *memstore.Store) *scheduler.Job {
	t.Helper()
	j := &scheduler.Job{ID: storetest.NewID(), Tenant: "acme", Status: scheduler.StatusQueued, CreatedAt: time.Now().UTC()}
	if _, err := s.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestNamedQueues: a job placed on a named queue (the embedded worker's) is
// claimed there only, a re-enqueue voids the old lease, a deleted job's
// entry is dropped, TryClaim never waits, and the placement survives a
// restart.
func TestNamedQueues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s := openAt(t, path)
	ctx := t.Context()
	local, err := s.Queue(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := local.TryClaim(ctx, "w", time.Minute); l != nil || err != nil {
		t.Fatalf("TryClaim on an empty queue = %+v, %v", l, err)
	}
	j := created(t, s)
	main, err := s.TryClaim(ctx, "scheduler", time.Minute)
	if err != nil || main == nil || main.JobID != j.ID {
		t.Fatalf("TryClaim on the main queue = %+v, %v", main, err)
	}
	if err := local.Enqueue(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, main); err != nil {
		t.Fatal(err)
	}
	if l := storetest.ClaimWithin(t, s, "scheduler", time.Minute, 100*time.Millisecond); l != nil {
		t.Fatalf("the main queue handed out %s, placed on local", l.JobID)
	}
	if st, err := local.Stats(ctx); err != nil || st.Depth != 1 {
		t.Fatalf("local stats = %+v, %v", st, err)
	}

	// A restart keeps the placement.
	s.Close()
	s = openAt(t, path)
	if local, err = s.Queue(ctx, "local"); err != nil {
		t.Fatal(err)
	}
	old := storetest.ClaimWithin(t, local, "w", time.Minute, time.Second)
	if old == nil || old.JobID != j.ID {
		t.Fatalf("local after restart = %+v", old)
	}
	if err := local.Enqueue(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := local.Extend(ctx, old, time.Minute); !errors.Is(err, scheduler.ErrLeaseLost) {
		t.Fatalf("Extend of the replaced lease = %v; want ErrLeaseLost", err)
	}
	again := storetest.ClaimWithin(t, local, "w", time.Minute, time.Second)
	if again == nil || again.JobID != j.ID || again.Token == old.Token {
		t.Fatalf("after re-enqueue: %+v", again)
	}
	if err := local.Ack(ctx, again); err != nil {
		t.Fatal(err)
	}
	if l := storetest.ClaimWithin(t, local, "w", time.Minute, 100*time.Millisecond); l != nil {
		t.Fatalf("handed out a third time: %+v", l)
	}

	gone := created(t, s)
	drained, _ := s.TryClaim(ctx, "scheduler", time.Minute)
	if drained == nil || drained.JobID != gone.ID {
		t.Fatalf("main claim = %+v", drained)
	}
	if err := local.Enqueue(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if l := storetest.ClaimWithin(t, local, "w", time.Minute, 100*time.Millisecond); l != nil {
		t.Fatalf("claimed the deleted job %s", l.JobID)
	}
	if err := local.Enqueue(ctx, "job_missing"); !errors.Is(err, scheduler.ErrNotFound) {
		t.Fatalf("Enqueue of a missing job = %v", err)
	}
}
