package scheduler

import "errors"

// Sentinel errors of the store and queue contracts.
var (
	// ErrNotFound: no job with that id (or it belongs to another tenant).
	ErrNotFound = errors.New("job not found")
	// ErrExists: Create with an id that is already stored.
	ErrExists = errors.New("job already exists")
	// ErrDuplicate: Create with an idempotency key the tenant already used;
	// the earlier job is returned alongside.
	ErrDuplicate = errors.New("idempotency key already used")
	// ErrLeaseLost: the lease expired and another consumer may hold the job.
	ErrLeaseLost = errors.New("lease lost")
	// ErrNotDeadLettered: Redrive of a job that is not on the dead-letter
	// list.
	ErrNotDeadLettered = errors.New("job is not dead-lettered")
	// ErrInputExpired: Redrive of a job whose stored input retention
	// already removed.
	ErrInputExpired = errors.New("job input expired")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)
