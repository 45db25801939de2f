package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/storetest"
)

// TestSurvivesServerCrash kills redis-server with SIGKILL mid-work and
// restarts it from its AOF: every job Create accepted is still there, and
// every job not acknowledged is claimable again.
func TestSurvivesServerCrash(t *testing.T) {
	const (
		total  = 60
		acked  = 10
		leased = 10
		ttl    = 300 * time.Millisecond
	)
	srv := redistest.Start(t, redistest.WithAOF())
	cfg := testConfig(srv.Addr())
	s := open(t, cfg)

	var ids []string
	for i := range total {
		j := &scheduler.Job{
			ID: storetest.NewID(), Tenant: "acme", Status: scheduler.StatusQueued,
			CreatedAt: time.Now().UTC(), RequestID: fmt.Sprintf("req_%d", i),
		}
		if _, err := s.Create(t.Context(), j); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
		ids = append(ids, j.ID)
	}
	for range acked {
		l := claimOne(t, s, "worker-a", time.Minute)
		if err := s.Ack(t.Context(), l); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	ackedIDs := ids[:acked]
	for range leased {
		claimOne(t, s, "worker-b", ttl) // held when the server dies
	}

	srv.Kill()
	// Nothing may be accepted while the server is down.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	_, err := s.Create(ctx, &scheduler.Job{ID: storetest.NewID(), Tenant: "acme"})
	cancel()
	if err == nil {
		t.Fatal("Create succeeded while redis-server was down")
	}
	srv.Restart()
	_ = s.Close()
	s = open(t, cfg)

	for _, id := range ids {
		if _, err := s.Get(t.Context(), id); err != nil {
			t.Fatalf("Get %s after crash: %v", id, err)
		}
	}
	time.Sleep(ttl * 3 / 2) // let the leases held at the crash expire
	var claimed []string
	for range total - acked {
		claimed = append(claimed, claimOne(t, s, "worker-c", time.Minute).JobID)
	}
	want := slices.Clone(ids[acked:])
	slices.Sort(claimed)
	slices.Sort(want)
	if !slices.Equal(claimed, want) {
		t.Fatalf("claimable after crash: %d jobs %v; want the %d unacknowledged %v", len(claimed), claimed, len(want), want)
	}
	for _, id := range ackedIDs {
		if slices.Contains(claimed, id) {
			t.Fatalf("acknowledged job %s came back after crash", id)
		}
	}
	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if l, err := s.Claim(ctx, "worker-c", time.Minute); err == nil {
		t.Fatalf("claimed %s beyond the unacknowledged jobs", l.JobID)
	}
}

func claimOne(t *testing.T, q scheduler.Queue, consumer string, ttl time.Duration) *scheduler.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	l, err := q.Claim(ctx, consumer, ttl)
	if err != nil {
		t.Fatalf("Claim by %s: %v", consumer, err)
	}
	return l
}
