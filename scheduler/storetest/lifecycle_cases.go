package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

func testExpiredDelete(t *testing.T, h *harness) {
	b := h.open(t)
	tenant := newTenant()
	t0 := now()
	older, old, future, never, cleared := newJob(tenant), newJob(tenant), newJob(tenant), newJob(tenant), newJob(tenant)
	older.ExpiresAt = t0.Add(-2 * time.Hour)
	older.IdempotencyKey = "gone-soon"
	future.ExpiresAt = t0.Add(time.Hour)
	cleared.ExpiresAt = t0.Add(-3 * time.Hour)
	for _, j := range []*scheduler.Job{older, old, future, never, cleared} {
		mustCreate(t, b, j)
	}
	// ExpiresAt usually arrives with the final Update, not with Create.
	for id, at := range map[string]time.Time{old.ID: t0.Add(-time.Hour), cleared.ID: {}} {
		_, err := b.Update(t.Context(), id, func(j *scheduler.Job) error { j.ExpiresAt = at; return nil })
		requireNoErr(t, err, "Update ExpiresAt")
	}

	tests := []struct {
		name  string
		at    time.Time
		limit int
		want  []string
	}{
		{"due oldest first", t0, 10, []string{older.ID, old.ID}},
		{"limit", t0, 1, []string{older.ID}},
		{"not after t is inclusive", t0.Add(-time.Hour), 10, []string{older.ID, old.ID}},
		{"nothing due yet", t0.Add(-3 * time.Hour), 10, nil},
		{"later t sees the future one", t0.Add(2 * time.Hour), 10, []string{older.ID, old.ID, future.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.Expired(t.Context(), tt.at, tt.limit)
			requireNoErr(t, err, "Expired")
			if len(got) != len(tt.want) || (len(got) > 0 && !slices.Equal(got, tt.want)) {
				t.Fatalf("Expired = %v; want %v", got, tt.want)
			}
		})
	}

	requireNoErr(t, b.Delete(t.Context(), older.ID), "Delete")
	requireNoErr(t, b.Delete(t.Context(), older.ID), "Delete again")
	requireNoErr(t, b.Delete(t.Context(), NewID()), "Delete of an unknown id")
	_, err := b.Get(t.Context(), older.ID)
	requireErr(t, err, scheduler.ErrNotFound, "Get after Delete")
	_, err = b.FindIdempotent(t.Context(), tenant, "gone-soon")
	requireErr(t, err, scheduler.ErrNotFound, "FindIdempotent after Delete")
	ids, err := b.Expired(t.Context(), t0, 10)
	requireNoErr(t, err, "Expired after Delete")
	if !slices.Equal(ids, []string{old.ID}) {
		t.Fatalf("Expired after Delete = %v; want [%s]", ids, old.ID)
	}
	p, err := b.List(t.Context(), tenant, "", 10)
	requireNoErr(t, err, "List after Delete")
	if len(p.Jobs) != 4 || slices.ContainsFunc(p.Jobs, func(j *scheduler.Job) bool { return j.ID == older.ID }) {
		t.Fatalf("List after Delete has %d jobs (deleted one listed?)", len(p.Jobs))
	}
	// The key is free again once its job is gone.
	again := newJob(tenant)
	again.IdempotencyKey = "gone-soon"
	mustCreate(t, b, again)
}

func testPing(t *testing.T, h *harness) {
	b := h.open(t)
	requireNoErr(t, b.Ping(t.Context()), "Ping")
}

func testClosed(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, newJob(newTenant()))
	mustClaim(t, b, "c1", time.Minute)

	blocked := make(chan error, 1)
	go func() {
		_, err := claim(t, b, "c2", time.Minute, 2*wait)
		blocked <- err
	}()
	time.Sleep(100 * time.Millisecond) // let Claim block
	requireNoErr(t, b.Close(), "Close")

	select {
	case err := <-blocked:
		requireErr(t, err, scheduler.ErrClosed, "Claim blocked during Close")
	case <-time.After(wait):
		t.Fatalf("a blocked Claim did not end within %s of Close", wait)
	}
	_, err := b.Get(t.Context(), j.ID)
	requireErr(t, err, scheduler.ErrClosed, "Get after Close")
	_, err = b.Create(t.Context(), newJob(j.Tenant))
	requireErr(t, err, scheduler.ErrClosed, "Create after Close")
	_, err = b.FindDedupe(t.Context(), scheduler.DedupeKey(j.Tenant, j.Input.SHA256, j.Options))
	requireErr(t, err, scheduler.ErrClosed, "FindDedupe after Close")
	_, err = claim(t, b, "c3", time.Minute, wait)
	requireErr(t, err, scheduler.ErrClosed, "Claim after Close")
}
