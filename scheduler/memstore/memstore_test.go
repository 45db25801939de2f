package memstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/memstore"
	"github.com/docstrange/mesh/scheduler/storetest"
)

func openAt(t *testing.T, path string) *memstore.Store {
	t.Helper()
	s, err := memstore.Open(t.Context(), memstore.Config{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceBolt(t *testing.T) {
	var (
		mu    sync.Mutex
		paths = map[scheduler.Backend]string{}
	)
	open := func(t *testing.T) scheduler.Backend {
		path := filepath.Join(t.TempDir(), "jobs.db")
		s := openAt(t, path)
		mu.Lock()
		paths[s] = path
		mu.Unlock()
		return s
	}
	reopen := func(t *testing.T, b scheduler.Backend) scheduler.Backend {
		mu.Lock()
		path := paths[b]
		mu.Unlock()
		if err := b.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s := openAt(t, path)
		mu.Lock()
		paths[s] = path
		mu.Unlock()
		return s
	}
	storetest.Run(t, open, storetest.WithReopen(reopen), storetest.WithNamedQueues(namedQueue))
}

func TestConformanceMemoryOnly(t *testing.T) {
	storetest.Run(t, func(t *testing.T) scheduler.Backend { return openAt(t, "") }, storetest.WithNamedQueues(namedQueue))
}

// namedQueue opens an embedded store's named queue for the conformance
// suite.
func namedQueue(t *testing.T, b scheduler.Backend, name string) storetest.NamedQueue {
	t.Helper()
	q, err := b.(*memstore.Store).Queue(t.Context(), name)
	if err != nil {
		t.Fatalf("Queue(%q): %v", name, err)
	}
	return q
}

// TestRestartRequeuesRunning: a job that was running when the process died
// is claimable again after a restart, and finished jobs stay finished.
func TestRestartRequeuesRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	ctx := context.Background()
	s := openAt(t, path)
	newJob := func() *scheduler.Job {
		return &scheduler.Job{ID: "job_" + xid.New().String(), Tenant: "t", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	}
	running, done := newJob(), newJob()
	for _, j := range []*scheduler.Job{running, done} {
		if _, err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		l, err := s.Claim(ctx, "w", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		st := scheduler.StatusRunning
		if l.JobID == done.ID {
			st = scheduler.StatusSucceeded
		}
		if _, err := s.Update(ctx, l.JobID, func(jb *scheduler.Job) error { jb.Status = st; return nil }); err != nil {
			t.Fatal(err)
		}
		if st == scheduler.StatusSucceeded {
			s.Ack(ctx, l)
		}
	}
	s.Close()

	s = openAt(t, path)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	l, err := s.Claim(cctx, "w2", time.Minute)
	if err != nil || l.JobID != running.ID {
		t.Fatalf("claim after restart: %v %+v, want %s", err, l, running.ID)
	}
	j, _ := s.Get(ctx, running.ID)
	if j.Status != scheduler.StatusQueued {
		t.Fatalf("running job after restart is %s, want queued", j.Status)
	}
	if j, _ := s.Get(ctx, done.ID); j.Status != scheduler.StatusSucceeded {
		t.Fatalf("finished job after restart is %s", j.Status)
	}
	cctx2, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if l, err := s.Claim(cctx2, "w2", time.Minute); err == nil {
		t.Fatalf("finished job claimable again: %+v", l)
	}
}
