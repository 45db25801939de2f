package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/scheduler"
)

var batchCases = []testCase{
	{"CreateGet", testBatchCreateGet},
	{"Expiry", testBatchExpiry},
	{"ReopenKeepsBatches", testBatchReopen},
}

func newBatch(n int) *scheduler.Batch {
	b := &scheduler.Batch{ID: "batch_" + xid.New().String(), Tenant: newTenant(), CreatedAt: now(), ExpiresAt: now().Add(time.Hour)}
	for range n {
		b.JobIDs = append(b.JobIDs, NewID())
	}
	return b
}

func testBatchCreateGet(t *testing.T, h *harness) {
	s := h.open(t)
	b := newBatch(3)
	requireNoErr(t, s.CreateBatch(t.Context(), b), "CreateBatch")
	got, err := s.GetBatch(t.Context(), b.ID)
	requireNoErr(t, err, "GetBatch")
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("GetBatch = %+v; want %+v", got, b)
	}
	got.JobIDs[0] = "changed"
	again, _ := s.GetBatch(t.Context(), b.ID)
	if again.JobIDs[0] == "changed" {
		t.Fatal("GetBatch shares its slice with the store")
	}
	if err := s.CreateBatch(t.Context(), b); !errors.Is(err, scheduler.ErrExists) {
		t.Fatalf("CreateBatch of a stored id = %v; want ErrExists", err)
	}
	if _, err := s.GetBatch(t.Context(), "batch_missing"); !errors.Is(err, scheduler.ErrNotFound) {
		t.Fatalf("GetBatch of a missing id = %v; want ErrNotFound", err)
	}
}

// testBatchExpiry: a batch past its ExpiresAt is gone to GetBatch, and
// PurgeBatches (where the store needs it) removes it for good.
func testBatchExpiry(t *testing.T, h *harness) {
	s := h.open(t)
	b := newBatch(1)
	b.ExpiresAt = time.Now().Add(1500 * time.Millisecond).UTC().Truncate(time.Millisecond)
	keep := newBatch(1)
	requireNoErr(t, s.CreateBatch(t.Context(), b), "CreateBatch")
	requireNoErr(t, s.CreateBatch(t.Context(), keep), "CreateBatch")
	time.Sleep(1600 * time.Millisecond) // real time: Redis expires keys by its own clock
	if _, err := s.GetBatch(t.Context(), b.ID); !errors.Is(err, scheduler.ErrNotFound) {
		t.Fatalf("GetBatch after ExpiresAt = %v; want ErrNotFound", err)
	}
	if _, err := s.PurgeBatches(t.Context(), time.Now()); err != nil {
		t.Fatalf("PurgeBatches: %v", err)
	}
	if _, err := s.GetBatch(t.Context(), keep.ID); err != nil {
		t.Fatalf("PurgeBatches removed a live batch: %v", err)
	}
	if err := s.CreateBatch(t.Context(), b); err != nil {
		t.Fatalf("the id of a purged batch cannot be reused: %v", err)
	}
}

func testBatchReopen(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("storetest: no WithReopen hook; persistence is untested for this backend")
	}
	s := h.open(t)
	b := newBatch(2)
	requireNoErr(t, s.CreateBatch(t.Context(), b), "CreateBatch")
	s = h.reopen(t, s)
	got, err := s.GetBatch(t.Context(), b.ID)
	requireNoErr(t, err, "GetBatch after reopen")
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("after reopen: %+v; want %+v", got, b)
	}
}
