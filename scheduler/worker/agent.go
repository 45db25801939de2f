// Package worker is the worker agent: it claims jobs from the queue, runs the
// document pipeline with a lease that it keeps renewing, stores the result
// idempotently and reports progress, cancellation and failure back to the
// store.
package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
	"github.com/docstrange/mesh/scheduler/blob"
)

// Log keys.
const (
	logJobID     = "job_id"
	logRequestID = "request_id"
	logTenant    = "tenant"
	logAttempt   = "attempt"
)

// Pipeline turns a job's input into a document. It returns a
// *scheduler.JobError for failures that retrying cannot fix; any other error
// is retried up to Config.MaxAttempts.
type Pipeline interface {
	Run(ctx context.Context, job *scheduler.Job, progress func(done, total int)) (*scheduler.Document, error)
}

// Config tunes the agent.
type Config struct {
	// Name identifies this consumer on the queue. Default: "worker".
	Name string
	// Slots is how many jobs run at once. Default: 1.
	Slots int
	// LeaseTTL is how long a claim lasts without renewal. Default: 30s.
	LeaseTTL time.Duration
	// MaxAttempts bounds retries of transient failures. Default: 3.
	MaxAttempts int
	// ResultTTL is how long results are kept. Default: 24h.
	ResultTTL time.Duration
	// JobTimeout aborts one attempt. Default: 10m.
	JobTimeout time.Duration
	// Backend, Device and Region describe where jobs run, for the job view.
	Backend, Device, Region string
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = "worker"
	}
	if c.Slots <= 0 {
		c.Slots = 1
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.ResultTTL <= 0 {
		c.ResultTTL = 24 * time.Hour
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 10 * time.Minute
	}
}

// Observer receives the outcome of each attempt, for metrics.
type Observer interface {
	JobFinished(status scheduler.Status, d time.Duration)
	// LeaseExpired counts a job claimed while its record still said
	// running: the worker of the attempt before died holding it.
	LeaseExpired()
}

// Agent runs jobs.
type Agent struct {
	cfg   Config
	jobs  scheduler.Backend
	blobs blob.Store
	pipe  Pipeline
	log   *slog.Logger
	obs   Observer
	busy  sync.WaitGroup
}

// New builds an agent. obs may be nil.
func New(cfg Config, jobs scheduler.Backend, blobs blob.Store, pipe Pipeline, log *slog.Logger, obs Observer) *Agent {
	cfg.setDefaults()
	return &Agent{cfg: cfg, jobs: jobs, blobs: blobs, pipe: pipe, log: log, obs: obs}
}

// Run claims and runs jobs on every slot until ctx ends, then waits for the
// running attempts to hand their jobs back.
func (a *Agent) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range a.cfg.Slots {
		wg.Go(func() { a.loop(ctx, fmt.Sprintf("%s-%d", a.cfg.Name, i)) })
	}
	wg.Wait()
}

func (a *Agent) loop(ctx context.Context, consumer string) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		lease, err := a.jobs.Claim(ctx, consumer, a.cfg.LeaseTTL)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, scheduler.ErrClosed) {
				return
			}
			a.log.ErrorContext(ctx, "claiming job", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		a.handle(ctx, lease)
	}
}

// errSkip marks a claimed job that must not run (canceled or finished).
var errSkip = errors.New("job must not run")

func (a *Agent) handle(ctx context.Context, lease *scheduler.Lease) {
	// Bookkeeping after the run must survive shutdown of ctx, briefly.
	bg := context.WithoutCancel(ctx)
	var expired bool
	job, err := a.jobs.Update(ctx, lease.JobID, func(j *scheduler.Job) error {
		if j.Status.Terminal() {
			return errSkip
		}
		expired = j.Status == scheduler.StatusRunning
		now := time.Now().UTC()
		if j.CancelRequested {
			finish(j, scheduler.StatusCanceled, now, a.cfg.ResultTTL)
			return nil
		}
		j.Attempts++
		if j.Attempts > a.cfg.MaxAttempts {
			// Every attempt's worker died holding it (or handed it
			// back failing): fail it for good, with the last error.
			last := j.Error
			if last == nil {
				last = &scheduler.JobError{Code: api.CodeWorkerTimeout, Message: fmt.Sprintf("the job's worker stopped responding in each of its %d attempts", a.cfg.MaxAttempts)}
			}
			j.Attempts = a.cfg.MaxAttempts
			scheduler.DeadLetter(j, last, now, a.cfg.ResultTTL)
			return nil
		}
		j.Status = scheduler.StatusRunning
		j.StartedAt = now
		j.Progress.PagesDone = 0
		j.Backend, j.Device, j.Region = a.cfg.Backend, a.cfg.Device, a.cfg.Region
		return nil
	})
	if err == nil && expired && a.obs != nil {
		a.obs.LeaseExpired()
	}
	if err != nil || job.Status != scheduler.StatusRunning {
		if err != nil && !errors.Is(err, errSkip) && !errors.Is(err, scheduler.ErrNotFound) {
			a.log.ErrorContext(ctx, "starting job", logJobID, lease.JobID, "error", err)
			a.jobs.Requeue(bg, lease)
			return
		}
		if err == nil && a.obs != nil {
			a.obs.JobFinished(job.Status, 0)
		}
		a.jobs.Ack(bg, lease)
		return
	}
	log := a.log.With(logJobID, job.ID, logRequestID, job.RequestID, logTenant, job.Tenant, logAttempt, job.Attempts)
	log.InfoContext(ctx, "job started", "media_type", job.Input.MediaType, "pages", job.Input.Pages)
	a.run(ctx, lease, job, log)
}

// abort reasons, set as the cause of the run context.
var (
	errCanceled  = errors.New("canceled by the client")
	errLeaseLost = errors.New("lease lost to another worker")
)

func (a *Agent) run(ctx context.Context, lease *scheduler.Lease, job *scheduler.Job, log *slog.Logger) {
	start := time.Now()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	runCtx, stop := context.WithTimeout(runCtx, a.cfg.JobTimeout)
	defer stop()
	go a.watch(runCtx, cancel, lease, job.ID, log)

	progress := newProgress(runCtx, a.jobs, job.ID)
	doc, err := a.runPipeline(runCtx, job, progress.report, log)
	if err != nil {
		// On success complete() records the final count itself.
		progress.flush(context.WithoutCancel(ctx))
	}
	if err == nil {
		err = a.store(runCtx, job, doc)
	}
	bg := context.WithoutCancel(ctx)
	cause := context.Cause(runCtx)
	switch {
	case errors.Is(cause, errLeaseLost):
		// Another worker owns the job now; touching it would race.
		log.WarnContext(ctx, "job abandoned: lease lost")
		return
	case ctx.Err() != nil:
		// Shutdown: hand the job back so it runs again, here or elsewhere.
		a.jobs.Update(bg, job.ID, func(j *scheduler.Job) error {
			if j.Status == scheduler.StatusRunning {
				j.Status = scheduler.StatusQueued
				j.Attempts--
			}
			return nil
		})
		a.jobs.Requeue(bg, lease)
		log.InfoContext(bg, "job handed back on shutdown")
		return
	case errors.Is(cause, errCanceled):
		a.complete(bg, lease, job.ID, scheduler.StatusCanceled, nil, "", "", start, log)
		return
	}
	if err == nil {
		a.complete(bg, lease, job.ID, scheduler.StatusSucceeded, nil, resultKey(job.ID), doc.Backend, start, log)
		return
	}
	var jerr *scheduler.JobError
	if errors.As(err, &jerr) {
		a.complete(bg, lease, job.ID, scheduler.StatusFailed, jerr, "", "", start, log)
		return
	}
	code := api.CodeProcessingError
	if errors.Is(err, context.DeadlineExceeded) {
		code = api.CodeWorkerTimeout
	}
	last := &scheduler.JobError{Code: code, Message: err.Error()}
	if job.Attempts >= a.cfg.MaxAttempts {
		a.deadLetter(bg, lease, job.ID, last, start, log)
		return
	}
	log.WarnContext(ctx, "job attempt failed; retrying", "error", err)
	a.jobs.Update(bg, job.ID, func(j *scheduler.Job) error {
		j.Status = scheduler.StatusQueued
		j.Error = last
		return nil
	})
	a.jobs.Requeue(bg, lease)
}

// runPipeline turns a panic in the pipeline into a permanent failure of that
// job. Without it one malformed document would crash the process, and since
// a restart re-queues running jobs, crash it again on every start.
func (a *Agent) runPipeline(ctx context.Context, job *scheduler.Job, progress func(done, total int), log *slog.Logger) (doc *scheduler.Document, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			log.ErrorContext(ctx, "pipeline panicked", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			doc, err = nil, &scheduler.JobError{Code: api.CodeProcessingError, Message: "the document could not be processed (internal error)"}
		}
	}()
	return a.pipe.Run(ctx, job, progress)
}

func resultKey(id string) string { return "jobs/" + id + "/result.json" }

// store writes the canonical result. Writing the same key again on a retry
// replaces it whole, so delivery at least once still yields one result.
func (a *Agent) store(ctx context.Context, job *scheduler.Job, doc *scheduler.Document) error {
	doc.JobID = job.ID
	doc.SourceSHA256 = job.Input.SHA256
	doc.MediaType = job.Input.MediaType
	doc.Filename = job.Input.Filename
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	if _, err := a.blobs.Put(ctx, resultKey(job.ID), bytes.NewReader(body), 0); err != nil {
		return fmt.Errorf("storing result: %w", err)
	}
	return nil
}

func finish(j *scheduler.Job, st scheduler.Status, now time.Time, ttl time.Duration) {
	j.Status = st
	j.FinishedAt = now
	j.ExpiresAt = now.Add(ttl)
}

// deadLetter fails a job whose last attempt failed too, and puts it on the
// dead-letter list.
func (a *Agent) deadLetter(ctx context.Context, lease *scheduler.Lease, id string, last *scheduler.JobError, start time.Time, log *slog.Logger) {
	_, err := a.jobs.Update(ctx, id, func(j *scheduler.Job) error {
		scheduler.DeadLetter(j, last, time.Now().UTC(), a.cfg.ResultTTL)
		return nil
	})
	if err != nil {
		log.ErrorContext(ctx, "dead-lettering job", "error", err)
		return
	}
	if err := a.jobs.Ack(ctx, lease); err != nil {
		log.WarnContext(ctx, "acknowledging job", "error", err)
	}
	if a.obs != nil {
		a.obs.JobFinished(scheduler.StatusFailed, time.Since(start))
	}
	log.WarnContext(ctx, "job dead-lettered after its last attempt", "error_code", last.Code, "error", last.Message)
}

// complete records an attempt's outcome; backend, when set, names what
// actually read the document (the text layer, or an OCR backend).
func (a *Agent) complete(ctx context.Context, lease *scheduler.Lease, id string, st scheduler.Status, jerr *scheduler.JobError, key, backend string, start time.Time, log *slog.Logger) {
	_, err := a.jobs.Update(ctx, id, func(j *scheduler.Job) error {
		finish(j, st, time.Now().UTC(), a.cfg.ResultTTL)
		j.Error = jerr
		j.ResultKey = key
		if backend != "" {
			j.Backend = backend
		}
		if st == scheduler.StatusSucceeded {
			j.Progress.PagesDone = j.Progress.PagesTotal
		}
		return nil
	})
	if err != nil {
		// The lease will expire and the job run again; the result write
		// is idempotent.
		log.ErrorContext(ctx, "recording job outcome", "status", st, "error", err)
		return
	}
	if err := a.jobs.Ack(ctx, lease); err != nil {
		log.WarnContext(ctx, "acknowledging job", "error", err)
	}
	d := time.Since(start)
	if a.obs != nil {
		a.obs.JobFinished(st, d)
	}
	attrs := []any{"status", st, "duration_ms", d.Milliseconds()}
	if jerr != nil {
		attrs = append(attrs, "error_code", jerr.Code, "error", jerr.Message)
	}
	log.InfoContext(ctx, "job finished", attrs...)
}
