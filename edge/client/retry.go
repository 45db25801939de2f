package client

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// retryPolicy decides whether and when a failed call is tried again.
type retryPolicy struct {
	// maxAttempts counts every try, the first included.
	maxAttempts int
	// maxWait is the longest Retry-After honoured; an answer asking for
	// more is returned to the caller rather than slept through.
	maxWait time.Duration
	// backoff is the first wait after a failure that named none.
	backoff time.Duration
}

// maxBackoff caps the exponential backoff.
const maxBackoff = 10 * time.Second

// retryable reports whether an answer with this status may succeed when
// sent again: the edge is shedding load (429) or a dependency is down
// (503). Neither consumed the request, so even a submission is safe.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// after says how long to wait before trying again after e, the answer to
// try number attempt, and whether to try at all.
func (p retryPolicy) after(e *Error, attempt int) (time.Duration, bool) {
	if attempt >= p.maxAttempts || !retryable(e.API.Status) {
		return 0, false
	}
	if ra := e.RetryAfter(); ra > 0 {
		if ra > p.maxWait {
			return 0, false
		}
		return ra, true
	}
	return p.backoffFor(attempt), true
}

// backoffFor is the wait after try number attempt when the edge named
// none: exponential with full jitter, so clients that failed together do
// not come back together.
func (p retryPolicy) backoffFor(attempt int) time.Duration {
	d := p.backoff << min(attempt-1, 10)
	d = min(d, maxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
