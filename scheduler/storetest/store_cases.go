package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

var storeCases = []testCase{
	{"CreateGetRoundTrip", testCreateGet},
	{"GetMissing", testGetMissing},
	{"CreateExistingID", testCreateExists},
	{"Idempotency", testIdempotency},
	{"ListNewestFirstPaged", testList},
	{"Update", testUpdate},
	{"UpdateConcurrent", testUpdateConcurrent},
	{"UpdateFnErrorWritesNothing", testUpdateFnError},
	{"UpdateMissing", testUpdateMissing},
	{"Subscribe", testSubscribe},
	{"ExpiredAndDelete", testExpiredDelete},
	{"Ping", testPing},
	{"Closed", testClosed},
}

func testCreateGet(t *testing.T, h *harness) {
	b := h.open(t)
	for _, j := range []*scheduler.Job{newJob(newTenant()), fullJob(newTenant())} {
		mustCreate(t, b, j)
		got, err := b.Get(t.Context(), j.ID)
		requireNoErr(t, err, "Get")
		requireSameJob(t, got, j)

		// Get hands out a copy: changing it must not change the store.
		got.Options.OutputFormats[0] = "mutated"
		got.Progress.PagesDone = 99
		again, err := b.Get(t.Context(), j.ID)
		requireNoErr(t, err, "Get again")
		requireSameJob(t, again, j)
	}
}

func testGetMissing(t *testing.T, h *harness) {
	b := h.open(t)
	_, err := b.Get(t.Context(), NewID())
	requireErr(t, err, scheduler.ErrNotFound, "Get of an unknown id")
}

func testCreateExists(t *testing.T, h *harness) {
	b := h.open(t)
	j := newJob(newTenant())
	mustCreate(t, b, j)
	dup := newJob(newTenant())
	dup.ID = j.ID
	_, err := b.Create(t.Context(), dup)
	requireErr(t, err, scheduler.ErrExists, "Create with a stored id")
	got, err := b.Get(t.Context(), j.ID)
	requireNoErr(t, err, "Get")
	requireSameJob(t, got, j)
	requireStats(t, b, 1, 0) // the second Create enqueued nothing
}

func testIdempotency(t *testing.T, h *harness) {
	b := h.open(t)
	tenant, other := newTenant(), newTenant()
	first := newJob(tenant)
	first.IdempotencyKey = "key-1"
	mustCreate(t, b, first)

	retry := newJob(tenant)
	retry.IdempotencyKey = "key-1"
	got, err := b.Create(t.Context(), retry)
	requireErr(t, err, scheduler.ErrDuplicate, "Create with a used key")
	requireSameJob(t, got, first)
	_, err = b.Get(t.Context(), retry.ID)
	requireErr(t, err, scheduler.ErrNotFound, "Get of the duplicate's id")

	// Keys are scoped per tenant: another tenant may use the same one.
	theirs := newJob(other)
	theirs.IdempotencyKey = "key-1"
	mustCreate(t, b, theirs)

	tests := []struct {
		name, tenant, key string
		want              *scheduler.Job
	}{
		{"own key", tenant, "key-1", first},
		{"other tenant's key", other, "key-1", theirs},
		{"unused key", tenant, "key-2", nil},
		{"unknown tenant", newTenant(), "key-1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.FindIdempotent(t.Context(), tt.tenant, tt.key)
			if tt.want == nil {
				requireErr(t, err, scheduler.ErrNotFound, "FindIdempotent")
				return
			}
			requireNoErr(t, err, "FindIdempotent")
			requireSameJob(t, got, tt.want)
		})
	}
	requireStats(t, b, 2, 0) // the duplicate was not enqueued
}

func testList(t *testing.T, h *harness) {
	b := h.open(t)
	tenant, other := newTenant(), newTenant()
	var want []string
	for range 7 {
		j := newJob(tenant)
		mustCreate(t, b, j)
		want = append(want, j.ID)
		mustCreate(t, b, newJob(other)) // interleaved, must never show up
	}
	slices.Sort(want)
	slices.Reverse(want) // newest first = id descending

	var got []string
	var sizes []int
	cursor := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatalf("List never ended; ids so far %v", got)
		}
		p, err := b.List(t.Context(), tenant, cursor, 3)
		requireNoErr(t, err, "List")
		sizes = append(sizes, len(p.Jobs))
		for _, j := range p.Jobs {
			if j.Tenant != tenant {
				t.Fatalf("List of %s returned job %s of tenant %s", tenant, j.ID, j.Tenant)
			}
			got = append(got, j.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List ids = %v; want %v", got, want)
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Fatalf("page sizes = %v; want [3 3 1]", sizes)
	}

	// A page holds whole jobs, not just ids.
	p, err := b.List(t.Context(), tenant, "", 1)
	requireNoErr(t, err, "List limit 1")
	if len(p.Jobs) != 1 || p.NextCursor == "" {
		t.Fatalf("List limit 1 = %d jobs, cursor %q; want 1 job and a cursor", len(p.Jobs), p.NextCursor)
	}
	stored, err := b.Get(t.Context(), want[0])
	requireNoErr(t, err, "Get")
	requireSameJob(t, p.Jobs[0], stored)

	p, err = b.List(t.Context(), newTenant(), "", 3)
	requireNoErr(t, err, "List of a tenant without jobs")
	if len(p.Jobs) != 0 || p.NextCursor != "" {
		t.Fatalf("List of a tenant without jobs = %d jobs, cursor %q", len(p.Jobs), p.NextCursor)
	}
}

func testUpdate(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, newJob(newTenant()))
	started := now()
	got, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
		j.Status = scheduler.StatusRunning
		j.Attempts++
		j.Backend = "onnx-cuda"
		j.StartedAt = started
		j.Error = &scheduler.JobError{Code: "X", Message: "y"}
		return nil
	})
	requireNoErr(t, err, "Update")
	want := j.Clone()
	want.Status, want.Attempts, want.Backend, want.StartedAt = scheduler.StatusRunning, 1, "onnx-cuda", started
	want.Error = &scheduler.JobError{Code: "X", Message: "y"}
	requireSameJob(t, got, want)
	stored, err := b.Get(t.Context(), j.ID)
	requireNoErr(t, err, "Get")
	requireSameJob(t, stored, want)
}

func testUpdateConcurrent(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, newJob(newTenant()))
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
				j.Progress.PagesDone++
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		requireNoErr(t, err, "concurrent Update")
	}
	got, err := b.Get(t.Context(), j.ID)
	requireNoErr(t, err, "Get")
	if got.Progress.PagesDone != n {
		t.Fatalf("PagesDone = %d after %d concurrent increments", got.Progress.PagesDone, n)
	}
}

func testUpdateFnError(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, newJob(newTenant()))
	errBoom := errors.New("boom")
	_, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
		j.Status = scheduler.StatusFailed
		j.Progress.PagesDone = 7
		j.ExpiresAt = now().Add(-time.Hour)
		return errBoom
	})
	requireErr(t, err, errBoom, "Update whose fn fails")
	got, err := b.Get(t.Context(), j.ID)
	requireNoErr(t, err, "Get")
	requireSameJob(t, got, j)
	ids, err := b.Expired(t.Context(), now().Add(time.Hour), 10)
	requireNoErr(t, err, "Expired")
	if slices.Contains(ids, j.ID) {
		t.Fatal("a failed Update still indexed ExpiresAt")
	}
}

func testUpdateMissing(t *testing.T, h *harness) {
	b := h.open(t)
	called := false
	_, err := b.Update(t.Context(), NewID(), func(*scheduler.Job) error {
		called = true
		return nil
	})
	requireErr(t, err, scheduler.ErrNotFound, "Update of an unknown id")
	if called {
		t.Fatal("Update called fn for an unknown id")
	}
}

func testSubscribe(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, newJob(newTenant()))
	noise := mustCreate(t, b, newJob(j.Tenant))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := b.Subscribe(ctx, j.ID)
	requireNoErr(t, err, "Subscribe")

	setDone := func(id string, n int) {
		t.Helper()
		_, err := b.Update(t.Context(), id, func(j *scheduler.Job) error {
			j.Progress.PagesDone = n
			return nil
		})
		requireNoErr(t, err, fmt.Sprintf("Update to %d", n))
	}
	// awaitDone reads until the version with PagesDone == n arrives.
	awaitDone := func(n int) {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case got, ok := <-ch:
				if !ok {
					t.Fatalf("channel closed while waiting for PagesDone %d", n)
				}
				if got.ID != j.ID {
					t.Fatalf("subscriber of %s got job %s", j.ID, got.ID)
				}
				if got.Progress.PagesDone > n {
					t.Fatalf("got PagesDone %d; want %d", got.Progress.PagesDone, n)
				}
				if got.Progress.PagesDone == n {
					return
				}
			case <-timeout:
				t.Fatalf("no update with PagesDone %d within %s", n, wait)
			}
		}
	}

	for n := 1; n <= 3; n++ {
		setDone(noise.ID, 100+n) // another job's updates are not delivered
		setDone(j.ID, n)
		awaitDone(n)
	}
	// A slow reader may miss versions, never the last one.
	for n := 4; n <= 8; n++ {
		setDone(j.ID, n)
	}
	time.Sleep(200 * time.Millisecond) // deliveries pile up while nobody reads
	awaitDone(8)

	cancel()
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("channel still open %s after ctx ended", wait)
		}
	}
}
