package jobs

import (
	"context"
	"net/http"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth/limits"
	"github.com/docstrange/mesh/auth/tiers"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/scheduler"
)

// authorize asks the policy again now that the submission's options and
// size are known: authz only saw the route.
func (h *Handler) authorize(r *http.Request, job *scheduler.Job) *api.Error {
	id := docstrange.IdentityOf(r)
	if id == nil {
		return api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured")
	}
	d, err := h.app.Policy().Decide(r.Context(), tiers.Input{
		Tier: id.Tier, Tenant: id.Tenant, Method: r.Method, Route: "/api/v1/documents",
		Options: tiers.Options{Device: job.Options.Device}, Size: job.Input.Size,
	})
	if err != nil {
		h.log.ErrorContext(r.Context(), "evaluating tier policy", "error", err)
		return api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the request could not be authorised")
	}
	if !d.Allow {
		h.app.Metrics().Denied(id.Tier, d.Reason)
		return docstrange.DenialError(d)
	}
	return nil
}

// reserve counts one document against the tenant's quota and reports
// whether the request has been answered (over quota, or a failing store
// under on_store_error closed).
func (h *Handler) reserve(w http.ResponseWriter, r *http.Request, q limits.Quota, tenant string, at time.Time) bool {
	res, err := h.app.Quotas().Reserve(r.Context(), tenant, q, 1, at)
	if err != nil {
		if h.app.FailOpen() {
			h.app.Metrics().StoreError(docstrange.FailOpen)
			h.log.WarnContext(r.Context(), "quota store failed; accepting uncounted (on_store_error open)", "error", err)
			return false
		}
		h.app.Metrics().StoreError(docstrange.FailClosed)
		h.log.ErrorContext(r.Context(), "quota store failed; refusing (on_store_error closed)", "error", err)
		w.Header().Set("Retry-After", "1")
		api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the document quota cannot be checked right now; nothing was accepted"))
		return true
	}
	if !res.Allowed {
		tier := ""
		if id := docstrange.IdentityOf(r); id != nil {
			tier = id.Tier
		}
		h.app.Metrics().Limited(tier, api.CodeQuotaExceeded)
		docstrange.WriteQuotaExceeded(w, tier, string(q.Period), res.Used, res.Limit, res.Reset)
		return true
	}
	return false
}

// release gives back a reservation whose job was not stored. A failure
// costs the tenant one document, which is logged.
func (h *Handler) release(r *http.Request, q limits.Quota, tenant string, at time.Time) {
	ctx := context.WithoutCancel(r.Context())
	if err := h.app.Quotas().Release(ctx, tenant, q, 1, at); err != nil {
		h.log.ErrorContext(ctx, "releasing quota reservation", "tenant", tenant, "error", err)
	}
}
