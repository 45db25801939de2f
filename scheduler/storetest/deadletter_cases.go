package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

var deadLetterCases = []testCase{
	{"ListNewestFirst", testDeadLetterList},
	{"Redrive", testRedrive},
	{"RedriveRefused", testRedriveRefused},
	{"DeleteDropsEntry", testDeadLetterDelete},
	{"ReopenKeepsList", testDeadLetterReopen},
}

// deadLetter takes a created job off the queue as a worker would and fails
// it for good at the given time.
func deadLetter(t *testing.T, b scheduler.Backend, id string, at time.Time) *scheduler.Job {
	t.Helper()
	l := mustClaim(t, b, "worker", time.Minute)
	if l.JobID != id {
		t.Fatalf("claimed %s, want %s", l.JobID, id)
	}
	j, err := b.Update(t.Context(), id, func(j *scheduler.Job) error {
		j.Attempts = 3
		scheduler.DeadLetter(j, &scheduler.JobError{Code: "WORKER_TIMEOUT", Message: "gone"}, at, time.Hour)
		return nil
	})
	requireNoErr(t, err, "Update to dead-lettered")
	requireNoErr(t, b.Ack(t.Context(), l), "Ack")
	return j
}

func deadIDs(t *testing.T, s scheduler.Store, before time.Time, limit int) []string {
	t.Helper()
	ids, err := s.DeadLetters(t.Context(), before, limit)
	requireNoErr(t, err, "DeadLetters")
	return ids
}

// testDeadLetterList: only dead-lettered jobs are listed, newest first,
// bounded by limit and paged by time.
func testDeadLetterList(t *testing.T, h *harness) {
	b := h.open(t)
	t0 := now().Add(-time.Hour)
	old := deadLetter(t, b, mustCreate(t, b, newJob(newTenant())).ID, t0)
	young := deadLetter(t, b, mustCreate(t, b, newJob(newTenant())).ID, t0.Add(time.Minute))
	failed := mustCreate(t, b, newJob(newTenant()))
	finishJob(t, b, failed.ID, scheduler.StatusFailed, now().Add(time.Hour))
	if young.DeadLetteredAt.IsZero() || young.Status != scheduler.StatusFailed || young.Error == nil {
		t.Fatalf("dead-lettered job = %+v", young)
	}
	tests := []struct {
		name   string
		before time.Time
		limit  int
		want   []string
	}{
		{"all", time.Time{}, 10, []string{young.ID, old.ID}},
		{"limit", time.Time{}, 1, []string{young.ID}},
		{"next page", young.DeadLetteredAt, 10, []string{old.ID}},
		{"past the end", old.DeadLetteredAt, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := deadIDs(t, b, tt.before, tt.limit); !slices.Equal(got, tt.want) {
				t.Fatalf("DeadLetters(%v, %d) = %v, want %v", tt.before, tt.limit, got, tt.want)
			}
		})
	}
}

// testRedrive: a redriven job is queued afresh, off the list, and
// claimable again.
func testRedrive(t *testing.T, h *harness) {
	b := h.open(t)
	j := deadLetter(t, b, mustCreate(t, b, newJob(newTenant())).ID, now())
	got, err := b.Redrive(t.Context(), j.ID)
	requireNoErr(t, err, "Redrive")
	if got.Status != scheduler.StatusQueued || got.Attempts != 0 || got.Error != nil || !got.DeadLetteredAt.IsZero() || !got.FinishedAt.IsZero() || !got.ExpiresAt.IsZero() {
		t.Fatalf("redriven job = %+v", got)
	}
	stored, err := b.Get(t.Context(), j.ID)
	requireNoErr(t, err, "Get")
	requireSameJob(t, stored, got)
	if ids := deadIDs(t, b, time.Time{}, 10); len(ids) != 0 {
		t.Fatalf("DeadLetters after redrive = %v", ids)
	}
	if l := mustClaim(t, b, "worker", time.Minute); l.JobID != j.ID {
		t.Fatalf("claimed %s after redrive, want %s", l.JobID, j.ID)
	}
}

// testRedriveRefused: only a dead-lettered job with its input still stored
// can be redriven; a refusal changes nothing.
func testRedriveRefused(t *testing.T, h *harness) {
	b := h.open(t)
	failed := mustCreate(t, b, newJob(newTenant()))
	l := mustClaim(t, b, "worker", time.Minute)
	requireNoErr(t, b.Ack(t.Context(), l), "Ack")
	finishJob(t, b, failed.ID, scheduler.StatusFailed, time.Time{})
	expired := deadLetter(t, b, mustCreate(t, b, newJob(newTenant())).ID, now())
	expireResult(t, b, expired.ID)
	tests := []struct {
		name string
		id   string
		want error
	}{
		{"missing", NewID(), scheduler.ErrNotFound},
		{"failed, not dead-lettered", failed.ID, scheduler.ErrNotDeadLettered},
		{"input expired", expired.ID, scheduler.ErrInputExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Redrive(t.Context(), tt.id)
			requireErr(t, err, tt.want, "Redrive")
		})
	}
	if ids := deadIDs(t, b, time.Time{}, 10); !slices.Equal(ids, []string{expired.ID}) {
		t.Fatalf("DeadLetters = %v, want the expired one still listed", ids)
	}
	requireEmpty(t, b, "worker")
}

func testDeadLetterDelete(t *testing.T, h *harness) {
	b := h.open(t)
	j := deadLetter(t, b, mustCreate(t, b, newJob(newTenant())).ID, now())
	requireNoErr(t, b.Delete(t.Context(), j.ID), "Delete")
	if ids := deadIDs(t, b, time.Time{}, 10); len(ids) != 0 {
		t.Fatalf("DeadLetters after Delete = %v", ids)
	}
}

func testDeadLetterReopen(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("storetest: no WithReopen hook; persistence is untested for this backend")
	}
	b := h.open(t)
	j := deadLetter(t, b, mustCreate(t, b, newJob(newTenant())).ID, now())
	b = h.reopen(t, b)
	if ids := deadIDs(t, b, time.Time{}, 10); !slices.Equal(ids, []string{j.ID}) {
		t.Fatalf("DeadLetters after reopen = %v, want [%s]", ids, j.ID)
	}
	_, err := b.Redrive(t.Context(), j.ID)
	requireNoErr(t, err, "Redrive after reopen")
	if l := mustClaim(t, b, "worker", time.Minute); l.JobID != j.ID {
		t.Fatalf("claimed %s, want %s", l.JobID, j.ID)
	}
}
