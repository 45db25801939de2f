package api

import "time"

// Batch statuses beyond the job statuses: a batch whose jobs all finished,
// but not all alike, is partial.
const BatchPartial = "partial"

// Batch is the body of POST /api/v1/batches and GET /api/v1/batches/{id}:
// the status aggregated from the batch's jobs, their counts and the jobs
// themselves, in submission order.
type Batch struct {
	ID      string `json:"id"`
	BatchID string `json:"batch_id"`
	// Status is queued (no job started), running (some job not finished),
	// or, once every job finished: succeeded, failed or canceled when they
	// all ended alike, partial otherwise.
	Status    string      `json:"status"`
	Total     int         `json:"total"`
	Counts    BatchCounts `json:"counts"`
	Progress  Progress    `json:"progress"`
	CreatedAt time.Time   `json:"created_at"`
	// Jobs are the batch's jobs; a job whose record retention already
	// deleted is counted as expired and left out.
	Jobs  []Job      `json:"jobs"`
	Links BatchLinks `json:"links"`
}

// BatchCounts counts a batch's jobs by status.
type BatchCounts struct {
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Canceled  int `json:"canceled"`
	Expired   int `json:"expired"`
}

// BatchLinks are the related URLs of a batch.
type BatchLinks struct {
	Self string `json:"self"`
}
