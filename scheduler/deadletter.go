package scheduler

import "time"

// DeadLetter fails j for good after it used up its attempts: the error is
// the last attempt's, and the job goes on the dead-letter list.
func DeadLetter(j *Job, last *JobError, now time.Time, ttl time.Duration) {
	j.Status = StatusFailed
	if last != nil {
		j.Error = last
	}
	j.FinishedAt = now
	j.ExpiresAt = now.Add(ttl)
	// Milliseconds: the Redis index scores in them, and the list pages by
	// this time in both stores alike.
	j.DeadLetteredAt = now.Truncate(time.Millisecond)
}

// Redrive turns a dead-lettered job back into a queued one with all its
// attempts ahead of it, keeping its id, input and options, so a client
// polling it sees it run again. Stores call it inside Redrive.
func (j *Job) Redrive() error {
	if j.DeadLetteredAt.IsZero() || j.Status != StatusFailed {
		return ErrNotDeadLettered
	}
	if j.ResultExpired {
		return ErrInputExpired
	}
	j.Status = StatusQueued
	j.Attempts = 0
	j.Error = nil
	j.Progress.PagesDone = 0
	j.StartedAt, j.FinishedAt, j.ExpiresAt, j.DeadLetteredAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	j.Worker, j.Waiting = "", ""
	j.ResultKey = ""
	return nil
}
