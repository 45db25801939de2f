package docstrange

import (
	"math"
	"net/http"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth/tiers"
)

// DenialError is the API error for a refused decision: 413 for a document
// over the tier's size, 403 for everything else, with the policy's reason
// code in details so a client can tell them apart.
func DenialError(d *tiers.Decision) *api.Error {
	var e *api.Error
	switch d.Reason {
	case tiers.ReasonFileTooLarge:
		e = api.Errorf(http.StatusRequestEntityTooLarge, api.CodeFileTooLarge, "%s", d.Message)
		if d.Limits != nil {
			e = e.With("max_size", d.Limits.MaxFileSize)
		}
	default:
		e = api.Errorf(http.StatusForbidden, api.CodeForbidden, "%s", d.Message)
	}
	e = e.With("reason", d.Reason).With("tier", d.Tier)
	if d.Feature != "" {
		e = e.With("feature", d.Feature)
	}
	return e
}

// QuotaExceeded is the 429 QUOTA_EXCEEDED with Retry-After at the
// period's reset, from the ratelimit handler before an upload and from
// Enqueue at accept.
func QuotaExceeded(tier, period string, used, limit int64, reset time.Time) *api.Error {
	retry := SecondsUntil(reset)
	e := api.Errorf(http.StatusTooManyRequests, api.CodeQuotaExceeded,
		"the %s tier allows %d documents per %s, and they are used; the quota renews at %s", tier, limit, period, reset.UTC().Format(time.RFC3339)).
		With("limit", limit).With("used", used).With("period", period).
		With("reset", reset.UTC().Format(time.RFC3339)).With("retry_after_seconds", retry).With("tier", tier)
	e.RetryAfter = retry
	return e
}

// SecondsUntil is the wait until t for Retry-After and RateLimit-Reset,
// rounded up so a client waiting that long is never early, and never less
// than 1.
func SecondsUntil(t time.Time) int64 {
	s := int64(math.Ceil(time.Until(t).Seconds()))
	return max(s, 1)
}
