package redisstore_test

import (
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

// TestQueueName: a named queue's name becomes part of Redis keys, so one
// with a space is refused. What named queues do is in the conformance suite
// (storetest.WithNamedQueues).
func TestQueueName(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, testConfig(srv.Addr()))
	if _, err := s.Queue(t.Context(), "bad name"); err == nil {
		t.Fatal("Queue accepted a name with a space")
	}
	if _, err := s.Queue(t.Context(), "w1"); err != nil {
		t.Fatalf("Queue(w1): %v", err)
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
