package scheduler

import (
	"slices"
	"time"
)

// Batch groups the jobs of one POST /api/v1/batches. Its status is not
// stored: it is aggregated from its jobs when read, so it can never
// disagree with them.
type Batch struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	// JobIDs are the batch's jobs in submission order. A document answered
	// from an earlier result (dedupe) is that earlier job.
	JobIDs    []string  `json:"job_ids"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the record goes; its jobs' records are gone by then.
	ExpiresAt time.Time `json:"expires_at"`
}

// Clone returns a deep copy.
func (b *Batch) Clone() *Batch {
	c := *b
	c.JobIDs = slices.Clone(b.JobIDs)
	return &c
}
