// Package storetest is the one conformance suite that every
// scheduler.Backend passes, in memory, on bbolt and on Redis alike (the
// litestream replica_client_test.go model). An implementation's test calls
// Run with a function that opens a fresh, empty backend.
//
// Conventions the suite relies on, beyond scheduler/store.go:
//
//   - Job ids are "job_" + an xid (github.com/rs/xid). Xids sort by creation
//     time as plain strings, so "newest first" in List means job id
//     descending, and a List cursor is a position in that order. A store may
//     make the cursor opaque; the suite only passes NextCursor back.
//   - NextCursor is empty on the last page, including a page that is exactly
//     full when nothing follows.
//   - Stores keep times to at least the millisecond and give them back in
//     UTC; the fixtures are UTC and truncated to the millisecond.
//   - Ack, Extend and Requeue with a lease whose job was reclaimed by another
//     consumer return ErrLeaseLost and leave the new holder's lease alone.
//   - Every method of a closed backend returns ErrClosed, and a Claim that is
//     blocked when Close is called returns ErrClosed.
//   - Create keeps every field the caller set: the job it returns, and every
//     later Get, equals the job that went in.
//   - Ack removes the queue entry only; the record stays until Delete.
//   - A lease past its deadline may be reclaimed by the next Claim; the suite
//     never asserts what Extend does in the gap before that happens.
//   - FindDedupe judges ExpiresAt by the backend's clock, the one
//     WithAdvance moves.
//
// Hooks: WithReopen (persistence), WithAdvance (fake clock), WithLeaseTTL
// (how short a lease the expiry tests use) and WithNamedQueues (a worker's
// own queue of placed jobs).
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/scheduler"
	"github.com/rs/xid"
)

// DefaultLeaseTTL is the short lease the expiry tests use unless
// WithLeaseTTL says otherwise.
const DefaultLeaseTTL = 300 * time.Millisecond

// wait bounds every step that is expected to succeed, so a broken backend
// fails the test instead of hanging it.
const wait = 5 * time.Second

// Option adds an optional hook to Run.
type Option func(*harness)

// WithReopen enables the persistence tests. reopen must close b and return a
// new backend over the same data, as a process restart would (for example:
// close the bbolt file and open it again, or close the Redis client and
// connect again with the same key prefix). The returned backend is closed by
// whoever registered the cleanup in reopen.
func WithReopen(reopen func(t *testing.T, b scheduler.Backend) scheduler.Backend) Option {
	return func(h *harness) { h.reopen = reopen }
}

// WithAdvance replaces the suite's real sleeps with a fake clock: advance
// must move the backend's clock forward by d, so that leases expire and the
// backlog ages. Without it the suite sleeps for real.
func WithAdvance(advance func(d time.Duration)) Option {
	return func(h *harness) { h.advance = advance }
}

// WithLeaseTTL sets the short lease the expiry tests use; the suite waits
// about 1.5 times this for a lease to expire. Default: DefaultLeaseTTL.
func WithLeaseTTL(d time.Duration) Option {
	return func(h *harness) { h.ttl = d }
}

type harness struct {
	open    func(t *testing.T) scheduler.Backend
	reopen  func(t *testing.T, b scheduler.Backend) scheduler.Backend
	advance func(d time.Duration)
	ttl     time.Duration
	named   func(t *testing.T, b scheduler.Backend, name string) NamedQueue
}

type testCase struct {
	name string
	fn   func(t *testing.T, h *harness)
}

// Run runs the suite. open must return a fresh, empty backend for each
// subtest and close it in t.Cleanup; the suite may Close it earlier itself,
// so that cleanup must tolerate a second Close.
func Run(t *testing.T, open func(t *testing.T) scheduler.Backend, opts ...Option) {
	h := &harness{open: open, ttl: DefaultLeaseTTL}
	for _, o := range opts {
		o(h)
	}
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Store", storeCases},
		{"Queue", queueCases},
		{"Dedupe", dedupeCases},
		{"Persistence", persistCases},
		{"Webhooks", webhookCases},
		{"Batches", batchCases},
		{"DeadLetters", deadLetterCases},
		{"NamedQueues", namedQueueCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
			}
		})
	}
}

// sleep lets d pass on the backend's clock.
func (h *harness) sleep(d time.Duration) {
	if h.advance != nil {
		h.advance(d)
		return
	}
	time.Sleep(d)
}

// NewID returns a unique job id in the suite's format.
func NewID() string { return "job_" + xid.New().String() }

// newTenant keeps tests apart even when a harness shares one backend.
func newTenant() string { return "tenant_" + xid.New().String() }

// now is a fixture time: UTC, whole milliseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// newJob is a queued job with every field a submit fills in.
func newJob(tenant string) *scheduler.Job {
	id := NewID()
	return &scheduler.Job{
		ID:       id,
		Tenant:   tenant,
		Status:   scheduler.StatusQueued,
		Priority: 1,
		Options: scheduler.Options{
			OutputFormats: []string{scheduler.FormatMarkdown, scheduler.FormatJSON},
			Pages:         "1-3,7",
			OCR:           scheduler.OCRAuto,
			Languages:     []string{"en", "de"},
			Device:        scheduler.DeviceCPU,
			Webhook:       &scheduler.Webhook{URL: "https://hooks.example.com/x", Secret: "whsec"},
		},
		Input: scheduler.Input{
			Key:       "inputs/" + id,
			Filename:  "report.pdf",
			MediaType: "application/pdf",
			Size:      123456,
			SHA256:    strings.Repeat("ab", 32),
			Pages:     9,
		},
		Progress:  scheduler.Progress{PagesTotal: 4},
		RequestID: "req_" + xid.New().String(),
		CreatedAt: now(),
	}
}

// fullJob sets every field of the model, so a round trip that drops one
// shows up.
func fullJob(tenant string) *scheduler.Job {
	j := newJob(tenant)
	t0 := now()
	j.Status = scheduler.StatusFailed
	j.Progress = scheduler.Progress{PagesTotal: 9, PagesDone: 3}
	j.Attempts = 2
	j.Backend = "onnx-cpu"
	j.Device = scheduler.DeviceGPU
	j.Region = "eu-west"
	j.IdempotencyKey = "idem-" + xid.New().String()
	j.DedupeKey = scheduler.DedupeKey(tenant, j.Input.SHA256, j.Options)
	j.CancelRequested = true
	j.Error = &scheduler.JobError{Code: "OCR_FAILED", Message: "backend crashed"}
	j.ResultKey = "results/" + j.ID + ".json"
	j.ResultExpired = true
	j.StartedAt = t0.Add(time.Second)
	j.FinishedAt = t0.Add(2 * time.Second)
	j.ExpiresAt = t0.Add(24 * time.Hour)
	return j
}

// requireSameJob compares field by field, with times compared as instants.
func requireSameJob(t *testing.T, got, want *scheduler.Job) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Fatalf("job = %v; want %v", got, want)
		}
		return
	}
	g, w := got.Clone(), want.Clone()
	for _, p := range []struct{ g, w *time.Time }{
		{&g.CreatedAt, &w.CreatedAt}, {&g.StartedAt, &w.StartedAt},
		{&g.FinishedAt, &w.FinishedAt}, {&g.ExpiresAt, &w.ExpiresAt},
	} {
		if p.g.Equal(*p.w) {
			*p.g = *p.w
		}
	}
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Fatalf("job differs\n got: %s\nwant: %s", gj, wj)
	}
}

// requireErr fails unless errors.Is(err, want).
func requireErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v; want %v", what, err, want)
	}
}

// requireNoErr fails on any error.
func requireNoErr(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// mustCreate stores j and checks Create gave it back unchanged.
func mustCreate(t *testing.T, s scheduler.Store, j *scheduler.Job) *scheduler.Job {
	t.Helper()
	got, err := s.Create(t.Context(), j.Clone())
	requireNoErr(t, err, "Create "+j.ID)
	requireSameJob(t, got, j)
	return got
}

// ClaimWithin claims from q, or returns nil when nothing comes within d;
// any other error fails the test. Backend-specific queue tests share it.
func ClaimWithin(t *testing.T, q scheduler.Queue, consumer string, ttl, d time.Duration) *scheduler.Lease {
	t.Helper()
	l, err := claim(t, q, consumer, ttl, d)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return l
}

// claim waits up to d for a lease.
func claim(t *testing.T, q scheduler.Queue, consumer string, ttl, d time.Duration) (*scheduler.Lease, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	return q.Claim(ctx, consumer, ttl)
}

// mustClaim expects a lease within the suite's wait.
func mustClaim(t *testing.T, q scheduler.Queue, consumer string, ttl time.Duration) *scheduler.Lease {
	t.Helper()
	l, err := claim(t, q, consumer, ttl, wait)
	requireNoErr(t, err, "Claim by "+consumer)
	if l == nil || l.JobID == "" || l.Token == "" {
		t.Fatalf("Claim by %s = %+v; want a lease with job id and token", consumer, l)
	}
	if l.Consumer != consumer {
		t.Fatalf("lease consumer = %q; want %q", l.Consumer, consumer)
	}
	return l
}

// requireEmpty expects no claimable job for a short while.
func requireEmpty(t *testing.T, q scheduler.Queue, consumer string) {
	t.Helper()
	l, err := claim(t, q, consumer, time.Minute, 250*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Claim on a queue that should be empty = %+v, %v; want context.DeadlineExceeded", l, err)
	}
}

// requireStats compares depth and leased counts.
func requireStats(t *testing.T, q scheduler.Queue, depth, leased int64) scheduler.QueueStats {
	t.Helper()
	st, err := q.Stats(t.Context())
	requireNoErr(t, err, "Stats")
	if st.Depth != depth || st.Leased != leased {
		t.Fatalf("Stats = depth %d, leased %d; want depth %d, leased %d", st.Depth, st.Leased, depth, leased)
	}
	return st
}
