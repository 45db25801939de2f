package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

// NamedQueue is one of a backend's named queues: a worker's own queue of
// the jobs a scheduler placed on it. It shares the backend's records and
// lease rules but not its entries.
type NamedQueue interface {
	scheduler.Queue
	// Enqueue puts a stored job on the queue; a job already there is
	// replaced, and a lease on it is lost.
	Enqueue(ctx context.Context, id string) error
	// TryClaim is Claim without the wait: nil, nil when nothing is
	// claimable now.
	TryClaim(ctx context.Context, consumer string, ttl time.Duration) (*scheduler.Lease, error)
}

// WithNamedQueues enables the named-queue tests: open returns b's queue of
// that name.
func WithNamedQueues(open func(t *testing.T, b scheduler.Backend, name string) NamedQueue) Option {
	return func(h *harness) { h.named = open }
}

var namedQueueCases = []testCase{
	{"IsolatedFromMainAndEachOther", testNamedIsolated},
	{"TryClaimNeverWaits", testNamedTryClaim},
	{"ReenqueueVoidsLease", testNamedReenqueue},
	{"ExpiredLeaseHandedOutAgain", testNamedExpired},
	{"DeletedJobDropped", testNamedDeleted},
	{"PlacementSurvivesReopen", testNamedReopen},
}

// namedQueues opens a fresh backend and its queues w1 and w2, or skips.
func (h *harness) namedQueues(t *testing.T) (scheduler.Backend, NamedQueue, NamedQueue) {
	t.Helper()
	if h.named == nil {
		t.Skip("storetest: no WithNamedQueues hook; named queues are untested for this backend")
	}
	b := h.open(t)
	return b, h.named(t, b, "w1"), h.named(t, b, "w2")
}

// place stores a job, takes it off the main queue as the dispatcher does,
// and puts it on q.
func place(t *testing.T, b scheduler.Backend, q NamedQueue) *scheduler.Job {
	t.Helper()
	ctx := t.Context()
	j := mustCreate(t, b, newJob(newTenant()))
	main := ClaimWithin(t, b, "scheduler", time.Minute, wait)
	if main == nil || main.JobID != j.ID {
		t.Fatalf("main queue claim = %+v, want %s", main, j.ID)
	}
	if err := q.Enqueue(ctx, j.ID); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if err := b.Ack(ctx, main); err != nil {
		t.Fatalf("Ack on the main queue: %v", err)
	}
	return j
}

func testNamedIsolated(t *testing.T, h *harness) {
	b, w1, w2 := h.namedQueues(t)
	ctx := t.Context()
	j := place(t, b, w1)
	if l := ClaimWithin(t, w2, "w2", time.Minute, 200*time.Millisecond); l != nil {
		t.Fatalf("w2 handed out %s, placed on w1", l.JobID)
	}
	if l := ClaimWithin(t, b, "scheduler", time.Minute, 200*time.Millisecond); l != nil {
		t.Fatalf("the main queue handed out %s, placed on w1", l.JobID)
	}
	if st, err := w1.Stats(ctx); err != nil || st.Depth != 1 {
		t.Fatalf("w1 Stats = %+v, %v; want depth 1", st, err)
	}
	l := ClaimWithin(t, w1, "w1", time.Minute, wait)
	if l == nil || l.JobID != j.ID {
		t.Fatalf("w1 claim = %+v, want %s", l, j.ID)
	}
	if err := w1.Extend(ctx, l, time.Minute); err != nil {
		t.Fatalf("Extend: %v", err)
	}
	if err := w1.Ack(ctx, l); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if l := ClaimWithin(t, w1, "w1", time.Minute, 200*time.Millisecond); l != nil {
		t.Fatalf("w1 handed out %s again after Ack", l.JobID)
	}
}

func testNamedTryClaim(t *testing.T, h *harness) {
	b, w1, _ := h.namedQueues(t)
	ctx := t.Context()
	start := time.Now()
	if l, err := w1.TryClaim(ctx, "w1", time.Minute); l != nil || err != nil {
		t.Fatalf("TryClaim on an empty queue = %+v, %v; want nil, nil", l, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("TryClaim on an empty queue took %v", d)
	}
	j := place(t, b, w1)
	l, err := w1.TryClaim(ctx, "w1", time.Minute)
	if err != nil || l == nil || l.JobID != j.ID {
		t.Fatalf("TryClaim = %+v, %v; want %s", l, err, j.ID)
	}
}

func testNamedReenqueue(t *testing.T, h *harness) {
	b, w1, _ := h.namedQueues(t)
	ctx := t.Context()
	j := place(t, b, w1)
	old := ClaimWithin(t, w1, "w1", time.Minute, wait)
	if old == nil {
		t.Fatal("no claim")
	}
	if err := w1.Enqueue(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := w1.Extend(ctx, old, time.Minute); !errors.Is(err, scheduler.ErrLeaseLost) {
		t.Fatalf("Extend of the replaced lease = %v; want ErrLeaseLost", err)
	}
	again := ClaimWithin(t, w1, "w1", time.Minute, wait)
	if again == nil || again.JobID != j.ID || again.Token == old.Token {
		t.Fatalf("after re-enqueue: %+v", again)
	}
	if err := w1.Ack(ctx, again); err != nil {
		t.Fatal(err)
	}
	if l := ClaimWithin(t, w1, "w1", time.Minute, 200*time.Millisecond); l != nil {
		t.Fatalf("handed out a third time: %+v", l)
	}
}

func testNamedExpired(t *testing.T, h *harness) {
	b, _, w2 := h.namedQueues(t)
	j := place(t, b, w2)
	if l := ClaimWithin(t, w2, "w2", h.ttl, wait); l == nil {
		t.Fatal("no claim")
	}
	h.sleep(h.ttl * 3 / 2)
	l := ClaimWithin(t, w2, "w2-restarted", time.Minute, wait)
	if l == nil || l.JobID != j.ID {
		t.Fatalf("after the lease expired: %+v, want %s", l, j.ID)
	}
}

func testNamedDeleted(t *testing.T, h *harness) {
	b, w1, _ := h.namedQueues(t)
	ctx := t.Context()
	j := place(t, b, w1)
	if err := b.Delete(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if l := ClaimWithin(t, w1, "w1", time.Minute, 200*time.Millisecond); l != nil {
		t.Fatalf("claimed the deleted job %s", l.JobID)
	}
	// A job that was never stored is refused or never handed out.
	if err := w1.Enqueue(ctx, NewID()); err != nil && !errors.Is(err, scheduler.ErrNotFound) {
		t.Fatalf("Enqueue of a missing job = %v; want nil or ErrNotFound", err)
	}
	if l := ClaimWithin(t, w1, "w1", time.Minute, 200*time.Millisecond); l != nil {
		t.Fatalf("claimed the missing job %s", l.JobID)
	}
}

func testNamedReopen(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("storetest: no WithReopen hook; persistence is untested for this backend")
	}
	b, w1, _ := h.namedQueues(t)
	j := place(t, b, w1)
	b = h.reopen(t, b)
	w1 = h.named(t, b, "w1")
	if l := ClaimWithin(t, b, "scheduler", time.Minute, 200*time.Millisecond); l != nil {
		t.Fatalf("after reopen the main queue handed out %s, placed on w1", l.JobID)
	}
	l := ClaimWithin(t, w1, "w1", time.Minute, wait)
	if l == nil || l.JobID != j.ID {
		t.Fatalf("w1 after reopen = %+v, want %s", l, j.ID)
	}
}
