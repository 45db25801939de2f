package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

var persistCases = []testCase{
	{"ReopenKeepsJobsAndQueue", testReopen},
	{"ReopenKeepsDedupeIndex", testReopenDedupe},
}

// testReopen is DESIGN §1's promise: a restart loses no accepted job, and a
// job that was running is handed out again (at once, or once its lease
// expires).
func testReopen(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("storetest: no WithReopen hook; persistence is untested for this backend")
	}
	b := h.open(t)
	tenant := newTenant()
	jobs := make([]*scheduler.Job, 4)
	for i := range jobs {
		jobs[i] = newJob(tenant)
	}
	jobs[3].IdempotencyKey = "survives"
	for _, j := range jobs {
		mustCreate(t, b, j)
	}
	acked := mustClaim(t, b, "c1", time.Minute)
	requireNoErr(t, b.Ack(t.Context(), acked), "Ack")
	running := mustClaim(t, b, "c1", h.ttl)
	updated, err := b.Update(t.Context(), jobs[2].ID, func(j *scheduler.Job) error {
		j.Progress.PagesDone = 2
		j.ExpiresAt = now().Add(-time.Minute)
		return nil
	})
	requireNoErr(t, err, "Update")
	jobs[2] = updated

	b = h.reopen(t, b)

	for _, want := range jobs {
		got, err := b.Get(t.Context(), want.ID)
		requireNoErr(t, err, "Get after reopen")
		requireSameJob(t, got, want)
	}
	found, err := b.FindIdempotent(t.Context(), tenant, "survives")
	requireNoErr(t, err, "FindIdempotent after reopen")
	requireSameJob(t, found, jobs[3])
	page, err := b.List(t.Context(), tenant, "", 10)
	requireNoErr(t, err, "List after reopen")
	if len(page.Jobs) != len(jobs) {
		t.Fatalf("List after reopen has %d jobs; want %d", len(page.Jobs), len(jobs))
	}
	ids, err := b.Expired(t.Context(), now(), 10)
	requireNoErr(t, err, "Expired after reopen")
	if !slices.Equal(ids, []string{jobs[2].ID}) {
		t.Fatalf("Expired after reopen = %v; want [%s]", ids, jobs[2].ID)
	}

	// Everything not acknowledged comes back, the running job included.
	h.sleep(h.ttl * 3 / 2)
	var got []string
	for range 3 {
		got = append(got, mustClaim(t, b, "c2", time.Minute).JobID)
	}
	want := []string{running.JobID, jobs[2].ID, jobs[3].ID}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("claimed %v after reopen; want %v", got, want)
	}
	if acked.JobID != jobs[0].ID || running.JobID != jobs[1].ID {
		t.Fatalf("claims before reopen were %s, %s; want FIFO %s, %s", acked.JobID, running.JobID, jobs[0].ID, jobs[1].ID)
	}
	requireEmpty(t, b, "c3")
	requireStats(t, b, 0, 3)
}
