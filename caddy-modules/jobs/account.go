package jobs

import (
	"net/http"
	"slices"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth"
	"github.com/docstrange/mesh/auth/tiers"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

// meView is GET /api/v1/me: who the edge thinks the caller is, and what its
// tier allows.
type meView struct {
	Identity *auth.Identity `json:"identity"`
	Features []string       `json:"features"`
	Limits   *tiers.Limits  `json:"limits"`
	// WebhookSecret signs this tenant's webhooks that carry no secret of
	// their own; shown to tiers with the webhook feature.
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

// me answers from the request's identity and decision, without I/O.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	id, d := docstrange.IdentityOf(r), docstrange.DecisionOf(r)
	if id == nil || d == nil {
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured"))
		return
	}
	v := meView{Identity: id, Features: d.Features, Limits: d.Limits}
	if slices.Contains(d.Features, "webhook") {
		v.WebhookSecret = h.app.WebhookSecret(id.Tenant)
	}
	writeJSON(w, http.StatusOK, v)
}

// usageView is GET /api/v1/usage.
type usageView struct {
	Tenant string     `json:"tenant"`
	Tier   string     `json:"tier"`
	Quota  quotaUsage `json:"quota"`
}

type quotaUsage struct {
	// Limit is -1 when the tier is unlimited.
	Limit     int64     `json:"limit"`
	Used      int64     `json:"used"`
	Remaining int64     `json:"remaining"`
	Period    string    `json:"period"`
	Reset     time.Time `json:"reset"`
}

// usage reports the tenant's document quota in the current period.
func (h *Handler) usage(w http.ResponseWriter, r *http.Request) {
	id, d := docstrange.IdentityOf(r), docstrange.DecisionOf(r)
	if id == nil || d == nil {
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured"))
		return
	}
	q := docstrange.QuotaOf(d.Limits)
	u, err := h.app.Quotas().Usage(r.Context(), id.Tenant, q, time.Now())
	if err != nil {
		h.log.ErrorContext(r.Context(), "reading quota usage", "error", err)
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "usage cannot be read right now"))
		return
	}
	remaining := int64(-1)
	if u.Limit >= 0 {
		remaining = max(u.Limit-u.Used, 0)
	}
	writeJSON(w, http.StatusOK, usageView{Tenant: id.Tenant, Tier: id.Tier, Quota: quotaUsage{
		Limit: u.Limit, Used: u.Used, Remaining: remaining, Period: string(q.Period), Reset: u.Reset.UTC(),
	}})
}
