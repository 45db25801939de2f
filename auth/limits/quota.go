package limits

import (
	"context"
	"fmt"
	"time"
)

// Quota is a tier's document allowance per Period.
type Quota struct {
	// Documents is how many documents a tenant may submit per period; a
	// negative value means unlimited (still counted), zero allows none.
	Documents int64
	// Period is the calendar period the allowance renews on.
	Period Period
}

// QuotaResult is a tenant's standing in the current period.
type QuotaResult struct {
	// Allowed reports for Reserve whether the documents were counted, and
	// for Usage whether one more document would be.
	Allowed bool
	// Used is the period's count, including this reservation when allowed.
	Used int64
	// Limit is Quota.Documents, or -1 when unlimited.
	Limit int64
	// Reset is the start of the next period (UTC), when Used returns to 0.
	Reset time.Time
}

// QuotaStore counts accepted documents per tenant and period. Counters of a
// tenant are shared by every Quota with the same Period, so a tier change
// within a month keeps the month's usage.
type QuotaStore interface {
	// Reserve atomically counts n documents for tenant in the period
	// containing now, unless that would exceed q.Documents: then nothing is
	// counted and Allowed is false. Two processes sharing the store never
	// overshoot.
	Reserve(ctx context.Context, tenant string, q Quota, n int64, now time.Time) (QuotaResult, error)
	// Release gives back n documents reserved at reservedAt for an accept
	// that then failed, never going below zero. Only the period containing
	// reservedAt is touched, so a refund that crosses midnight does not
	// credit the new period.
	Release(ctx context.Context, tenant string, q Quota, n int64, reservedAt time.Time) error
	// Usage reports the period containing now without counting.
	Usage(ctx context.Context, tenant string, q Quota, now time.Time) (QuotaResult, error)
	// Close releases the store's resources.
	Close() error
}

// pruneGrace keeps a period's counters a day after it ends: late Releases
// of that period still land, and Redis keys expire on the same schedule.
const pruneGrace = 24 * time.Hour

// checkRequest validates the arguments shared by every QuotaStore method
// and returns the period containing t.
func checkRequest(tenant string, q Quota, n int64, t time.Time) (window, error) {
	if tenant == "" {
		return window{}, fmt.Errorf("%w: empty tenant", ErrInvalidRequest)
	}
	if n < 1 {
		return window{}, fmt.Errorf("%w: %d documents", ErrInvalidRequest, n)
	}
	return q.Period.window(t)
}

// result builds a QuotaResult from a counter's value.
func (q Quota) result(allowed bool, used int64, w window) QuotaResult {
	limit := q.Documents
	if limit < 0 {
		limit = -1
	}
	return QuotaResult{Allowed: allowed, Used: used, Limit: limit, Reset: w.end}
}

// wouldAllow reports whether used+n fits the quota.
func (q Quota) wouldAllow(used, n int64) bool {
	return q.Documents < 0 || used+n <= q.Documents
}
