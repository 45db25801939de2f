package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

var queueCases = []testCase{
	{"ClaimBlocksUntilCreate", testClaimBlocks},
	{"ClaimFIFO", testClaimFIFO},
	{"ClaimEndsWithCtx", testClaimCtx},
	{"ConcurrentClaimsAreDistinct", testClaimDistinct},
	{"ExtendKeepsLease", testExtend},
	{"AckRemovesForGood", testAck},
	{"Requeue", testRequeue},
	{"ExpiredLeaseIsReclaimed", testReclaim},
	{"Stats", testStats},
}

func testClaimBlocks(t *testing.T, h *harness) {
	b := h.open(t)
	type result struct {
		l   *scheduler.Lease
		err error
	}
	got := make(chan result, 1)
	go func() {
		l, err := claim(t, b, "c1", time.Minute, 2*wait)
		got <- result{l, err}
	}()
	select {
	case r := <-got:
		t.Fatalf("Claim on an empty queue returned %+v, %v", r.l, r.err)
	case <-time.After(200 * time.Millisecond):
	}

	before := time.Now()
	j := mustCreate(t, b, newJob(newTenant()))
	var r result
	select {
	case r = <-got:
	case <-time.After(wait):
		t.Fatalf("Claim did not return within %s of Create", wait)
	}
	requireNoErr(t, r.err, "Claim")
	if r.l.JobID != j.ID || r.l.Consumer != "c1" || r.l.Token == "" {
		t.Fatalf("lease = %+v; want job %s for c1 with a token", r.l, j.ID)
	}
	// Expires is about now + ttl; a second of slack covers clock reads.
	lo, hi := before.Add(time.Minute-time.Second), time.Now().Add(time.Minute+time.Second)
	if r.l.Expires.Before(lo) || r.l.Expires.After(hi) {
		t.Fatalf("lease expires %v; want between %v and %v", r.l.Expires, lo, hi)
	}
}

func testClaimFIFO(t *testing.T, h *harness) {
	b := h.open(t)
	var want []string
	for range 5 {
		want = append(want, mustCreate(t, b, newJob(newTenant())).ID)
	}
	var got []string
	for range want {
		got = append(got, mustClaim(t, b, "c1", time.Minute).JobID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("claim order = %v; want creation order %v", got, want)
	}
	requireEmpty(t, b, "c1")
}

func testClaimCtx(t *testing.T, h *harness) {
	tests := []struct {
		name string
		ctx  func(t *testing.T) context.Context
		want error
	}{
		{"canceled", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(150*time.Millisecond, cancel)
			return ctx
		}, context.Canceled},
		{"deadline", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
		{"already canceled", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, context.Canceled},
	}
	b := h.open(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := b.Claim(tt.ctx(t), "c1", time.Minute)
				done <- err
			}()
			select {
			case err := <-done:
				requireErr(t, err, tt.want, "Claim")
			case <-time.After(wait):
				t.Fatalf("Claim still blocked %s after its ctx ended", wait)
			}
		})
	}
	// A claim given up on must not have taken a job with it.
	j := mustCreate(t, b, newJob(newTenant()))
	if l := mustClaim(t, b, "c2", time.Minute); l.JobID != j.ID {
		t.Fatalf("claimed %s; want %s", l.JobID, j.ID)
	}
}

func testClaimDistinct(t *testing.T, h *harness) {
	b := h.open(t)
	var want []string
	for range 20 {
		want = append(want, mustCreate(t, b, newJob(newTenant())).ID)
	}
	var (
		mu  sync.Mutex
		got []string
		wg  sync.WaitGroup
	)
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5"} {
		wg.Go(func() {
			for range 4 {
				l, err := claim(t, b, c, time.Minute, wait)
				if err != nil {
					t.Errorf("Claim by %s: %v", c, err)
					return
				}
				mu.Lock()
				got = append(got, l.JobID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("claimed %v; want each of %v exactly once", got, want)
	}
	requireEmpty(t, b, "c6")
}

func testExtend(t *testing.T, h *harness) {
	b := h.open(t)
	mustCreate(t, b, newJob(newTenant()))
	l := mustClaim(t, b, "c1", h.ttl)
	// Renew every third of the ttl for longer than one ttl.
	for range 4 {
		h.sleep(h.ttl / 3)
		requireNoErr(t, b.Extend(t.Context(), l, h.ttl), "Extend")
	}
	if l2, err := claim(t, b, "c2", time.Minute, h.ttl/3); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Claim of an extended lease = %+v, %v; want context.DeadlineExceeded", l2, err)
	}
	requireNoErr(t, b.Ack(t.Context(), l), "Ack")
}

func testAck(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, newJob(newTenant()))
	l := mustClaim(t, b, "c1", h.ttl)
	requireNoErr(t, b.Ack(t.Context(), l), "Ack")
	requireStats(t, b, 0, 0)
	h.sleep(h.ttl * 3 / 2)
	requireEmpty(t, b, "c2")
	requireErr(t, b.Extend(t.Context(), l, time.Minute), scheduler.ErrLeaseLost, "Extend after Ack")
	// Ack ends the queue entry, not the record.
	got, err := b.Get(t.Context(), j.ID)
	requireNoErr(t, err, "Get after Ack")
	requireSameJob(t, got, j)
}

func testRequeue(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, newJob(newTenant()))
	l1 := mustClaim(t, b, "c1", time.Minute)
	requireNoErr(t, b.Requeue(t.Context(), l1), "Requeue")
	requireStats(t, b, 1, 0)
	l2 := mustClaim(t, b, "c2", time.Minute)
	if l2.JobID != j.ID {
		t.Fatalf("claimed %s after Requeue; want %s", l2.JobID, j.ID)
	}
	if l2.Token == l1.Token {
		t.Fatal("a requeued job was handed out with the old token")
	}
	requireErr(t, b.Extend(t.Context(), l1, time.Minute), scheduler.ErrLeaseLost, "Extend of the requeued lease")
	requireNoErr(t, b.Ack(t.Context(), l2), "Ack")
	requireEmpty(t, b, "c3")
}

func testReclaim(t *testing.T, h *harness) {
	b := h.open(t)
	first := mustCreate(t, b, newJob(newTenant()))
	second := mustCreate(t, b, newJob(newTenant()))
	l1 := mustClaim(t, b, "c1", h.ttl)
	if l1.JobID != first.ID {
		t.Fatalf("claimed %s; want %s", l1.JobID, first.ID)
	}
	h.sleep(h.ttl * 3 / 2)

	// The expired job goes out before the newer one that never ran.
	l2 := mustClaim(t, b, "c2", time.Minute)
	if l2.JobID != first.ID {
		t.Fatalf("c2 claimed %s; want the expired %s first", l2.JobID, first.ID)
	}
	if l2.Token == l1.Token {
		t.Fatal("a reclaimed job kept its old token")
	}

	tests := []struct {
		name string
		op   func(context.Context, *scheduler.Lease) error
	}{
		{"Extend", func(ctx context.Context, l *scheduler.Lease) error { return b.Extend(ctx, l, time.Minute) }},
		{"Ack", b.Ack},
		{"Requeue", b.Requeue},
	}
	for _, tt := range tests {
		t.Run("stale "+tt.name, func(t *testing.T) {
			requireErr(t, tt.op(t.Context(), l1), scheduler.ErrLeaseLost, tt.name+" with the lost lease")
		})
	}
	// None of that touched c2's hold.
	requireNoErr(t, b.Extend(t.Context(), l2, time.Minute), "Extend by the new holder")
	requireStats(t, b, 1, 1)
	requireNoErr(t, b.Ack(t.Context(), l2), "Ack by the new holder")
	if l3 := mustClaim(t, b, "c1", time.Minute); l3.JobID != second.ID {
		t.Fatalf("claimed %s; want %s", l3.JobID, second.ID)
	}
	requireEmpty(t, b, "c3")
}

func testStats(t *testing.T, h *harness) {
	b := h.open(t)
	st := requireStats(t, b, 0, 0)
	if st.OldestAge != 0 {
		t.Fatalf("OldestAge of an empty queue = %s; want 0", st.OldestAge)
	}
	for range 3 {
		mustCreate(t, b, newJob(newTenant()))
	}
	h.sleep(200 * time.Millisecond)
	st = requireStats(t, b, 3, 0)
	if st.OldestAge < 100*time.Millisecond || st.OldestAge > time.Minute {
		t.Fatalf("OldestAge = %s; want about 200ms", st.OldestAge)
	}
	l := mustClaim(t, b, "c1", time.Minute)
	requireStats(t, b, 2, 1)
	requireNoErr(t, b.Ack(t.Context(), l), "Ack")
	requireStats(t, b, 2, 0)
	for range 2 {
		requireNoErr(t, b.Ack(t.Context(), mustClaim(t, b, "c1", time.Minute)), "Ack")
	}
	if st = requireStats(t, b, 0, 0); st.OldestAge != 0 {
		t.Fatalf("OldestAge of a drained queue = %s; want 0", st.OldestAge)
	}
}
