// Package scheduler holds the job model shared by the edge, the scheduler and
// the workers, and the small interfaces (Store, Queue) that the embedded and
// the Redis implementations satisfy.
package scheduler

import (
	"time"
)

// Status is the lifecycle state of a job.
type Status string

// The job states of DESIGN §2. A job moves queued → running → one of the
// terminal states; a running job whose lease expires goes back to queued.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCanceled  Status = "canceled"
)

// Terminal reports whether no further transition can happen.
func (s Status) Terminal() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCanceled
}

// Input describes the stored source document of a job.
type Input struct {
	// Key is the blob key of the stored bytes.
	Key string `json:"key"`
	// Filename is the sanitised client file name, for display only.
	Filename string `json:"filename,omitempty"`
	// MediaType is what content sniffing found, never what the client said.
	MediaType string `json:"media_type"`
	// Size is the byte length.
	Size int64 `json:"size"`
	// SHA256 is the hex digest computed while streaming.
	SHA256 string `json:"sha256"`
	// Pages is the page count found at submit, 0 when unknown.
	Pages int `json:"pages,omitempty"`
}

// Progress counts pages of the current attempt.
type Progress struct {
	PagesTotal int `json:"pages_total"`
	PagesDone  int `json:"pages_done"`
}

// JobError is the reason a job failed, in the API's error vocabulary.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Job is one document-extraction request and its state.
type Job struct {
	ID       string   `json:"id"`
	Tenant   string   `json:"tenant"`
	Status   Status   `json:"status"`
	Priority int      `json:"priority,omitempty"`
	Options  Options  `json:"options"`
	Input    Input    `json:"input"`
	Progress Progress `json:"progress"`
	// Attempts counts claims by workers, including the running one.
	Attempts int    `json:"attempts"`
	Backend  string `json:"backend,omitempty"`
	Device   string `json:"device,omitempty"`
	Region   string `json:"region,omitempty"`
	// RequestID is the X-Request-ID of the submitting request, carried into
	// worker logs.
	RequestID      string `json:"request_id,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// DedupeKey is set by the edge at accept (see DedupeKey): once the job
	// succeeded, a later identical submission in the same scope is answered
	// with it through Store.FindDedupe instead of running again.
	DedupeKey string `json:"dedupe_key,omitempty"`
	// CancelRequested is set by DELETE; the worker holding the job aborts.
	CancelRequested bool      `json:"cancel_requested,omitempty"`
	Error           *JobError `json:"error,omitempty"`
	// ResultKey is the blob key of the canonical JSON result.
	ResultKey string `json:"result_key,omitempty"`
	// ResultExpired is set when the cleanup loop removed the artifacts.
	ResultExpired bool      `json:"result_expired,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
	// ExpiresAt is when the artifacts of a finished job are removed.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Worker is the worker allocation the scheduler last placed the job on.
	Worker string `json:"worker,omitempty"`
	// Waiting says why a queued job is not placed yet (no healthy GPU
	// worker, all busy…); empty once placed.
	Waiting string `json:"waiting,omitempty"`
	// DeadLetteredAt is set when the job failed after using up its attempts
	// (a transient error or a dying worker every time): it is on the
	// dead-letter list (Store.DeadLetters) for an operator to inspect and
	// redrive.
	DeadLetteredAt time.Time `json:"dead_lettered_at,omitzero"`
	// BatchID is the batch the job was submitted in, if any.
	BatchID string `json:"batch_id,omitempty"`
	// Webhooks are the job's webhook events and their delivery history
	// (see RecordEvents).
	Webhooks []Delivery `json:"webhooks,omitempty"`
}

// Clone returns a deep copy, so callers never share mutable state with a
// store.
func (j *Job) Clone() *Job {
	c := *j
	c.Options = j.Options.clone()
	c.Webhooks = cloneDeliveries(j.Webhooks)
	if j.Error != nil {
		e := *j.Error
		c.Error = &e
	}
	return &c
}

// Error makes a JobError usable as a Go error: a pipeline returns one for a
// failure that retrying cannot fix (a corrupt or encrypted document, a page
// range past the end), and the worker fails the job with it at once.
func (e *JobError) Error() string { return e.Code + ": " + e.Message }
