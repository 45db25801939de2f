package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/xid"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
	"github.com/docstrange/mesh/scheduler/memstore"
)

// funcPipeline is a pipeline whose behaviour a test chooses: the agent's
// branches (retry, fail, cancel, shutdown) are what is under test here; the
// real document pipeline has its own tests.
type funcPipeline func(ctx context.Context, job *scheduler.Job, progress func(done, total int)) (*scheduler.Document, error)

func (f funcPipeline) Run(ctx context.Context, job *scheduler.Job, progress func(done, total int)) (*scheduler.Document, error) {
	return f(ctx, job, progress)
}

// errPanic makes the test pipeline panic instead of returning.
var errPanic = errors.New("panic")

type counts struct {
	mu      sync.Mutex
	n       map[scheduler.Status]int
	expired int
}

func (c *counts) LeaseExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expired++
}

func (c *counts) JobFinished(st scheduler.Status, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[scheduler.Status]int{}
	}
	c.n[st]++
}

type env struct {
	jobs  *memstore.Store
	blobs *blob.Local
	obs   *counts
}

func newEnv(t *testing.T) *env {
	t.Helper()
	jobs, err := memstore.Open(t.Context(), memstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jobs.Close() })
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &env{jobs: jobs, blobs: blobs, obs: &counts{}}
}

// start runs an agent until the test ends.
func (e *env) start(t *testing.T, cfg Config, p Pipeline) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := New(cfg, e.jobs, e.blobs, p, slog.New(slog.NewTextHandler(io.Discard, nil)), e.obs)
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return func() { cancel(); <-done }
}

func (e *env) submit(t *testing.T) *scheduler.Job {
	t.Helper()
	j, err := e.jobs.Create(t.Context(), &scheduler.Job{
		ID: "job_" + xid.New().String(), Tenant: "t", Status: scheduler.StatusQueued,
		Input:     scheduler.Input{Key: "in", MediaType: "text/plain", Pages: 3, SHA256: "abc"},
		CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (e *env) waitStatus(t *testing.T, id string, want scheduler.Status) *scheduler.Job {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		j, err := e.jobs.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, want %s", id, j.Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAgentSucceeds(t *testing.T) {
	e := newEnv(t)
	e.start(t, Config{Backend: "test", Region: "r1"}, funcPipeline(func(ctx context.Context, job *scheduler.Job, progress func(int, int)) (*scheduler.Document, error) {
		for i := 1; i <= 3; i++ {
			progress(i, 3)
		}
		return &scheduler.Document{PageCount: 1, Pages: []scheduler.Page{{Number: 1, Blocks: []scheduler.Block{{Type: "text", Text: "hi"}}}}}, nil
	}))
	j := e.waitStatus(t, e.submit(t).ID, scheduler.StatusSucceeded)
	if j.Attempts != 1 || j.Progress.PagesDone != 3 || j.ResultKey == "" || j.ExpiresAt.IsZero() || j.Backend != "test" || j.Region != "r1" {
		t.Fatalf("job: %+v", j)
	}
	rc, _, err := e.blobs.Open(t.Context(), j.ResultKey)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var doc scheduler.Document
	if err := json.NewDecoder(rc).Decode(&doc); err != nil || doc.JobID != j.ID || doc.SourceSHA256 != "abc" || doc.Pages[0].Blocks[0].Text != "hi" {
		t.Fatalf("stored result %+v, %v", doc, err)
	}
	st, _ := e.jobs.Stats(t.Context())
	if st.Depth != 0 || st.Leased != 0 {
		t.Fatalf("queue not empty after success: %+v", st)
	}
}

func TestAgentFailures(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		wantAttempts int32
		wantCode     string
		// wantDead: failed after using up its attempts, so dead-lettered;
		// a permanent failure is not.
		wantDead bool
	}{
		{name: "permanent", err: &scheduler.JobError{Code: api.CodeUnprocessableDocument, Message: "bad"}, wantAttempts: 1, wantCode: api.CodeUnprocessableDocument},
		{name: "panic is a permanent failure", err: errPanic, wantAttempts: 1, wantCode: api.CodeProcessingError},
		{name: "transient retried then dead-lettered", err: errors.New("backend hiccup"), wantAttempts: 3, wantCode: api.CodeProcessingError, wantDead: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var calls atomic.Int32
			e.start(t, Config{MaxAttempts: 3}, funcPipeline(func(context.Context, *scheduler.Job, func(int, int)) (*scheduler.Document, error) {
				calls.Add(1)
				if tt.err == errPanic {
					var m map[string]int
					m["boom"]++
				}
				return nil, tt.err
			}))
			j := e.waitStatus(t, e.submit(t).ID, scheduler.StatusFailed)
			if calls.Load() != tt.wantAttempts || j.Attempts != int(tt.wantAttempts) || j.Error == nil || j.Error.Code != tt.wantCode {
				t.Fatalf("calls %d, job %+v err %+v", calls.Load(), j, j.Error)
			}
			if j.DeadLetteredAt.IsZero() == tt.wantDead {
				t.Fatalf("dead-lettered at %v, want dead-lettered %v", j.DeadLetteredAt, tt.wantDead)
			}
			dead, err := e.jobs.DeadLetters(t.Context(), time.Time{}, 10)
			if err != nil || slices.Contains(dead, j.ID) != tt.wantDead {
				t.Fatalf("DeadLetters = %v, %v; want the job listed: %v", dead, err, tt.wantDead)
			}
		})
	}
}

// TestAgentDeadLettersAfterLostLeases: a job whose every attempt's worker
// died holding it (its leases ran out, nothing handed it back) is not run a
// fourth time: it fails with WORKER_TIMEOUT and goes on the dead-letter list.
func TestAgentDeadLettersAfterLostLeases(t *testing.T) {
	e := newEnv(t)
	j := e.submit(t)
	if _, err := e.jobs.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
		j.Status, j.Attempts = scheduler.StatusRunning, 3
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Bool
	e.start(t, Config{MaxAttempts: 3}, funcPipeline(func(context.Context, *scheduler.Job, func(int, int)) (*scheduler.Document, error) {
		ran.Store(true)
		return &scheduler.Document{}, nil
	}))
	got := e.waitStatus(t, j.ID, scheduler.StatusFailed)
	if ran.Load() || got.Attempts != 3 || got.Error == nil || got.Error.Code != api.CodeWorkerTimeout || got.DeadLetteredAt.IsZero() {
		t.Fatalf("ran %v, job %+v, error %+v", ran.Load(), got, got.Error)
	}
	if dead, err := e.jobs.DeadLetters(t.Context(), time.Time{}, 10); err != nil || !slices.Equal(dead, []string{j.ID}) {
		t.Fatalf("DeadLetters = %v, %v", dead, err)
	}
	e.obs.mu.Lock()
	defer e.obs.mu.Unlock()
	if e.obs.expired != 1 {
		t.Fatalf("lease expiries counted %d, want 1", e.obs.expired)
	}
}

func TestAgentTransientThenSuccess(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.start(t, Config{}, funcPipeline(func(context.Context, *scheduler.Job, func(int, int)) (*scheduler.Document, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("first attempt dies")
		}
		return &scheduler.Document{}, nil
	}))
	j := e.waitStatus(t, e.submit(t).ID, scheduler.StatusSucceeded)
	if j.Attempts != 2 {
		t.Fatalf("attempts %d, want 2", j.Attempts)
	}
}

func TestAgentCancelRunning(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	e.start(t, Config{}, funcPipeline(func(ctx context.Context, _ *scheduler.Job, _ func(int, int)) (*scheduler.Document, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	j := e.submit(t)
	<-started
	begin := time.Now()
	if _, err := e.jobs.Update(t.Context(), j.ID, func(j *scheduler.Job) error { j.CancelRequested = true; return nil }); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, j.ID, scheduler.StatusCanceled)
	if took := time.Since(begin); took > 2*time.Second {
		t.Fatalf("cancel took %s", took)
	}
}

func TestAgentSkipsCanceledQueuedJob(t *testing.T) {
	e := newEnv(t)
	j := e.submit(t)
	if _, err := e.jobs.Update(t.Context(), j.ID, func(j *scheduler.Job) error {
		j.Status, j.CancelRequested = scheduler.StatusCanceled, true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Bool
	e.start(t, Config{}, funcPipeline(func(context.Context, *scheduler.Job, func(int, int)) (*scheduler.Document, error) {
		ran.Store(true)
		return &scheduler.Document{}, nil
	}))
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := e.jobs.Stats(t.Context()); st.Depth == 0 && st.Leased == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, _ := e.jobs.Stats(t.Context()); st.Depth != 0 || st.Leased != 0 {
		t.Fatalf("canceled job still queued: %+v", st)
	}
	if ran.Load() {
		t.Fatal("a canceled queued job ran")
	}
}

func TestAgentShutdownHandsJobBack(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	stop := e.start(t, Config{}, funcPipeline(func(ctx context.Context, _ *scheduler.Job, _ func(int, int)) (*scheduler.Document, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	j := e.submit(t)
	<-started
	stop()
	got, _ := e.jobs.Get(t.Context(), j.ID)
	if got.Status != scheduler.StatusQueued || got.Attempts != 0 {
		t.Fatalf("after shutdown: %+v", got)
	}
	cctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if l, err := e.jobs.Claim(cctx, "next", time.Minute); err != nil || l.JobID != j.ID {
		t.Fatalf("job not claimable after shutdown: %v", err)
	}
}
