package api

import "time"

// Links are the related URLs of a job.
type Links struct {
	Self   string `json:"self"`
	Result string `json:"result"`
	Events string `json:"events,omitempty"`
	// Webhooks is the delivery history, for a job with a webhook.
	Webhooks string `json:"webhooks,omitempty"`
}

// Progress counts pages.
type Progress struct {
	PagesTotal int `json:"pages_total"`
	PagesDone  int `json:"pages_done"`
}

// JobError is why a job failed.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Job is the public view of a job (GET /api/v1/jobs/{id}).
type Job struct {
	ID       string   `json:"id"`
	JobID    string   `json:"job_id"`
	Status   string   `json:"status"`
	Progress Progress `json:"progress"`
	Attempts int      `json:"attempts"`
	Backend  string   `json:"backend,omitempty"`
	Device   string   `json:"device,omitempty"`
	Region   string   `json:"region,omitempty"`
	// WaitingReason says why a queued job is not running yet, such as "no
	// healthy GPU worker".
	WaitingReason   string   `json:"waiting_reason,omitempty"`
	Filename        string   `json:"filename,omitempty"`
	MediaType       string   `json:"media_type,omitempty"`
	Size            int64    `json:"size"`
	SHA256          string   `json:"sha256,omitempty"`
	OutputFormats   []string `json:"output_formats"`
	CancelRequested bool     `json:"cancel_requested,omitempty"`
	// Cached marks a submission answered with an earlier job of the same
	// tenant for the same content and options, whose result is ready.
	Cached bool `json:"cached,omitempty"`
	// BatchID is the batch the job belongs to, if any.
	BatchID    string    `json:"batch_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	Error      *JobError `json:"error,omitempty"`
	Links      Links     `json:"links"`
}

// JobList is one page of GET /api/v1/jobs.
type JobList struct {
	Jobs       []Job  `json:"jobs"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Health is the body of the health endpoints.
type Health struct {
	Status     string                     `json:"status"`
	Version    string                     `json:"version,omitempty"`
	Components map[string]ComponentHealth `json:"components,omitempty"`
}

// ComponentHealth is one dependency's state.
type ComponentHealth struct {
	Status string         `json:"status"`
	Error  string         `json:"error,omitempty"`
	Detail map[string]any `json:"detail,omitempty"`
}
