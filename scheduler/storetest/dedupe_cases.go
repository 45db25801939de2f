package storetest

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
)

var dedupeCases = []testCase{
	{"FoundOnlyOnceSucceeded", testDedupeLifecycle},
	{"NeverUnsuccessfulJobs", testDedupeUnsuccessful},
	{"OtherKeysNotFound", testDedupeOtherKeys},
	{"GoneWithExpiryAndDelete", testDedupeExpiry},
	{"NewestWins", testDedupeNewest},
	{"NewestExpiredNeverAnswers", testDedupeNewestExpired},
	{"Concurrent", testDedupeConcurrent},
}

// dedupeJob is a queued job with the dedupe key the edge would give it.
func dedupeJob(tenant string) *scheduler.Job {
	j := newJob(tenant)
	j.DedupeKey = scheduler.DedupeKey(tenant, j.Input.SHA256, j.Options)
	return j
}

// finishJob ends the job the way a worker does: st, FinishedAt now, the
// result key, and ExpiresAt.
func finishJob(t *testing.T, s scheduler.Store, id string, st scheduler.Status, expiresAt time.Time) *scheduler.Job {
	t.Helper()
	j, err := s.Update(t.Context(), id, func(j *scheduler.Job) error {
		j.Status = st
		j.FinishedAt = now()
		j.ExpiresAt = expiresAt
		if st == scheduler.StatusSucceeded {
			j.ResultKey = "jobs/" + id + "/result.json"
		}
		return nil
	})
	requireNoErr(t, err, "Update to "+string(st))
	return j
}

// expireResult is the retention sweep's first step: the artifacts are gone
// and the record waits out its grace.
func expireResult(t *testing.T, s scheduler.Store, id string) *scheduler.Job {
	t.Helper()
	j, err := s.Update(t.Context(), id, func(j *scheduler.Job) error {
		j.ResultExpired = true
		j.ExpiresAt = now().Add(7 * 24 * time.Hour)
		return nil
	})
	requireNoErr(t, err, "Update to ResultExpired")
	return j
}

// requireDedupe expects FindDedupe(key) to give want, or ErrNotFound when
// want is nil.
func requireDedupe(t *testing.T, s scheduler.Store, key string, want *scheduler.Job, what string) {
	t.Helper()
	got, err := s.FindDedupe(t.Context(), key)
	if want == nil {
		if !errors.Is(err, scheduler.ErrNotFound) {
			t.Fatalf("FindDedupe %s = %v, %v; want ErrNotFound", what, jobID(got), err)
		}
		return
	}
	requireNoErr(t, err, "FindDedupe "+what)
	requireSameJob(t, got, want)
}

func jobID(j *scheduler.Job) string {
	if j == nil {
		return "<nil>"
	}
	return j.ID
}

func testDedupeLifecycle(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, dedupeJob(newTenant()))
	requireDedupe(t, b, j.DedupeKey, nil, "while queued")
	_, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
		j.Status = scheduler.StatusRunning
		return nil
	})
	requireNoErr(t, err, "Update to running")
	requireDedupe(t, b, j.DedupeKey, nil, "while running")

	done := finishJob(t, b, j.ID, scheduler.StatusSucceeded, now().Add(time.Hour))
	requireDedupe(t, b, j.DedupeKey, done, "once succeeded")
	// The answer is a copy: changing it must not change the store.
	got, err := b.FindDedupe(t.Context(), j.DedupeKey)
	requireNoErr(t, err, "FindDedupe")
	got.Options.OutputFormats[0] = "mutated"
	got.Status = scheduler.StatusFailed
	requireDedupe(t, b, j.DedupeKey, done, "after changing an answer")

	// A job stored already succeeded (an import, say) is found as well.
	imported := dedupeJob(newTenant())
	imported.Status = scheduler.StatusSucceeded
	imported.FinishedAt = now()
	imported.ExpiresAt = now().Add(time.Hour)
	mustCreate(t, b, imported)
	requireDedupe(t, b, imported.DedupeKey, imported, "of a job created succeeded")

	// Jobs without a key are not indexed under the empty one.
	plain := mustCreate(t, b, newJob(newTenant()))
	finishJob(t, b, plain.ID, scheduler.StatusSucceeded, now().Add(time.Hour))
	requireDedupe(t, b, "", nil, "of the empty key")
}

func testDedupeUnsuccessful(t *testing.T, h *harness) {
	b := h.open(t)
	tests := []struct {
		name   string
		status scheduler.Status
	}{
		{"failed", scheduler.StatusFailed},
		{"canceled", scheduler.StatusCanceled},
		{"running", scheduler.StatusRunning},
		{"requeued", scheduler.StatusQueued},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustCreate(t, b, dedupeJob(newTenant()))
			finishJob(t, b, j.ID, tt.status, now().Add(time.Hour))
			requireDedupe(t, b, j.DedupeKey, nil, "of a "+tt.name+" job")
		})
	}
}

func testDedupeOtherKeys(t *testing.T, h *harness) {
	b := h.open(t)
	j := mustCreate(t, b, dedupeJob(newTenant()))
	done := finishJob(t, b, j.ID, scheduler.StatusSucceeded, now().Add(time.Hour))
	otherOpts := j.Clone().Options
	otherOpts.Pages = "1-2"
	tests := []struct {
		name string
		key  string
		want *scheduler.Job
	}{
		{"own key", j.DedupeKey, done},
		{"other tenant", scheduler.DedupeKey(newTenant(), j.Input.SHA256, j.Options), nil},
		{"global scope", scheduler.DedupeKey("", j.Input.SHA256, j.Options), nil},
		{"other content", scheduler.DedupeKey(j.Tenant, strings.Repeat("cd", 32), j.Options), nil},
		{"other options", scheduler.DedupeKey(j.Tenant, j.Input.SHA256, otherOpts), nil},
		{"the job id", j.ID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireDedupe(t, b, tt.key, tt.want, tt.name)
		})
	}
}

func testDedupeExpiry(t *testing.T, h *harness) {
	b := h.open(t)
	tests := []struct {
		name string
		// gone ends the findable job's life; the job was found before.
		gone func(t *testing.T, j *scheduler.Job)
	}{
		{"result expired by retention", func(t *testing.T, j *scheduler.Job) { expireResult(t, b, j.ID) }},
		{"record deleted", func(t *testing.T, j *scheduler.Job) {
			requireNoErr(t, b.Delete(t.Context(), j.ID), "Delete")
		}},
		{"expired and deleted", func(t *testing.T, j *scheduler.Job) {
			expireResult(t, b, j.ID)
			requireNoErr(t, b.Delete(t.Context(), j.ID), "Delete")
		}},
		{"ExpiresAt passed before any sweep", func(t *testing.T, j *scheduler.Job) {
			_, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
				j.ExpiresAt = now().Add(h.ttl)
				return nil
			})
			requireNoErr(t, err, "Update ExpiresAt")
			h.sleep(h.ttl * 3 / 2)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustCreate(t, b, dedupeJob(newTenant()))
			done := finishJob(t, b, j.ID, scheduler.StatusSucceeded, now().Add(time.Hour))
			requireDedupe(t, b, j.DedupeKey, done, "before")
			tt.gone(t, done)
			requireDedupe(t, b, j.DedupeKey, nil, "after")
			requireDedupe(t, b, j.DedupeKey, nil, "asked again")

			// The key serves again once an identical job succeeds.
			again := mustCreate(t, b, dedupeJob(j.Tenant))
			done = finishJob(t, b, again.ID, scheduler.StatusSucceeded, now().Add(time.Hour))
			requireDedupe(t, b, j.DedupeKey, done, "of a later identical job")
		})
	}

	t.Run("due at success", func(t *testing.T) {
		j := mustCreate(t, b, dedupeJob(newTenant()))
		finishJob(t, b, j.ID, scheduler.StatusSucceeded, now().Add(-time.Minute))
		requireDedupe(t, b, j.DedupeKey, nil, "of a job due for expiry")
	})
}

// testDedupeNewest: of two succeeded jobs the newer (larger id) answers,
// whichever finished last, and the older one's expiry leaves it alone.
func testDedupeNewest(t *testing.T, h *harness) {
	b := h.open(t)
	tests := []struct {
		name        string
		newerFirst  bool
		expireOlder bool
	}{
		{name: "newer finishes last"},
		{name: "newer finishes first", newerFirst: true},
		{name: "older expires", expireOlder: true},
		{name: "older expires, newer finished first", newerFirst: true, expireOlder: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := newTenant()
			older := mustCreate(t, b, dedupeJob(tenant))
			newer := mustCreate(t, b, dedupeJob(tenant))
			if older.ID >= newer.ID {
				t.Fatalf("ids %s, %s are not ascending", older.ID, newer.ID)
			}
			order := []string{older.ID, newer.ID}
			if tt.newerFirst {
				slices.Reverse(order)
			}
			var want *scheduler.Job
			for _, id := range order {
				j := finishJob(t, b, id, scheduler.StatusSucceeded, now().Add(time.Hour))
				if id == newer.ID {
					want = j
				}
			}
			if tt.expireOlder {
				expireResult(t, b, older.ID)
			}
			requireDedupe(t, b, newer.DedupeKey, want, "of two succeeded jobs")
		})
	}
}

// testDedupeNewestExpired: once the newest job is expired it never answers;
// an older one that is still reusable may (see Store.FindDedupe).
func testDedupeNewestExpired(t *testing.T, h *harness) {
	b := h.open(t)
	tenant := newTenant()
	older := mustCreate(t, b, dedupeJob(tenant))
	newer := mustCreate(t, b, dedupeJob(tenant))
	olderDone := finishJob(t, b, older.ID, scheduler.StatusSucceeded, now().Add(2*time.Hour))
	finishJob(t, b, newer.ID, scheduler.StatusSucceeded, now().Add(time.Hour))
	expireResult(t, b, newer.ID)
	got, err := b.FindDedupe(t.Context(), newer.DedupeKey)
	switch {
	case errors.Is(err, scheduler.ErrNotFound):
	case err != nil:
		t.Fatalf("FindDedupe: %v", err)
	default:
		requireSameJob(t, got, olderDone)
	}
}

// testDedupeConcurrent races identical submissions finishing against
// lookups: a lookup only ever sees a succeeded job of the key, and the
// newest wins in the end.
func testDedupeConcurrent(t *testing.T, h *harness) {
	b := h.open(t)
	tenant := newTenant()
	const n = 16
	jobs := make([]*scheduler.Job, n)
	ids := make([]string, n)
	for i := range jobs {
		jobs[i] = dedupeJob(tenant)
		ids[i] = jobs[i].ID
	}
	key := jobs[0].DedupeKey

	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				j, err := b.FindDedupe(t.Context(), key)
				switch {
				case errors.Is(err, scheduler.ErrNotFound):
				case err != nil:
					t.Errorf("concurrent FindDedupe: %v", err)
					return
				case j.Status != scheduler.StatusSucceeded || j.DedupeKey != key || !slices.Contains(ids, j.ID):
					t.Errorf("concurrent FindDedupe = %s, %s, key %q", j.ID, j.Status, j.DedupeKey)
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	errs := make(chan error, n)
	for i, j := range jobs {
		writers.Go(func() {
			if _, err := b.Create(t.Context(), j); err != nil {
				errs <- err
				return
			}
			st := scheduler.StatusSucceeded
			if i%4 == 3 {
				st = scheduler.StatusFailed
			}
			_, err := b.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
				j.Status = st
				j.FinishedAt = now()
				j.ExpiresAt = now().Add(time.Hour)
				return nil
			})
			errs <- err
		})
	}
	writers.Wait()
	close(errs)
	for err := range errs {
		requireNoErr(t, err, "concurrent Create and Update")
	}
	close(done)
	readers.Wait()

	newest := ""
	for i, id := range ids {
		if i%4 != 3 && id > newest {
			newest = id
		}
	}
	want, err := b.Get(t.Context(), newest)
	requireNoErr(t, err, "Get")
	requireDedupe(t, b, key, want, "after concurrent finishes")

	var deleters sync.WaitGroup
	for _, id := range ids {
		deleters.Go(func() {
			if err := b.Delete(t.Context(), id); err != nil {
				t.Errorf("concurrent Delete: %v", err)
			}
		})
	}
	deleters.Wait()
	requireDedupe(t, b, key, nil, "after every job was deleted")
}

// testReopenDedupe: the index survives a restart, with the same answers.
func testReopenDedupe(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("storetest: no WithReopen hook; persistence is untested for this backend")
	}
	b := h.open(t)
	found, expired, failed := dedupeJob(newTenant()), dedupeJob(newTenant()), dedupeJob(newTenant())
	for _, j := range []*scheduler.Job{found, expired, failed} {
		mustCreate(t, b, j)
	}
	want := finishJob(t, b, found.ID, scheduler.StatusSucceeded, now().Add(time.Hour))
	finishJob(t, b, expired.ID, scheduler.StatusSucceeded, now().Add(time.Hour))
	expireResult(t, b, expired.ID)
	finishJob(t, b, failed.ID, scheduler.StatusFailed, now().Add(time.Hour))

	b = h.reopen(t, b)

	requireDedupe(t, b, found.DedupeKey, want, "after reopen")
	requireDedupe(t, b, expired.DedupeKey, nil, "of an expired job after reopen")
	requireDedupe(t, b, failed.DedupeKey, nil, "of a failed job after reopen")
	expireResult(t, b, found.ID)
	requireDedupe(t, b, found.DedupeKey, nil, "expired after reopen")
}
