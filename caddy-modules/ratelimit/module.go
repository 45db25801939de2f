// Package ratelimit is the docstrange_ratelimit handler: it counts each
// request against the caller's tier rate (ulule/limiter, in memory or in
// Redis) and sets RateLimit-* headers on every answer it lets through or
// refuses. Before a document is uploaded it also checks the tenant's quota,
// so a tenant out of quota is told before sending the body; the job API
// counts the document, atomically, when it accepts the job.
package ratelimit

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Handler is http.handlers.docstrange_ratelimit. Its numbers come from the
// policy decision; what a failing store does is the app's on_store_error.
type Handler struct {
	app *docstrange.App
	log *slog.Logger
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_ratelimit", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner.
func (h *Handler) Provision(ctx caddy.Context) error {
	app, err := ctx.App("docstrange")
	if err != nil {
		return err
	}
	h.app = app.(*docstrange.App)
	h.log = docstrange.RequestLogger(ctx.Slogger())
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
// The rate headers' canonical forms (textproto.CanonicalMIMEHeaderKey).
const (
	hdrLimit     = "Ratelimit-Limit"
	hdrRemaining = "Ratelimit-Remaining"
	hdrReset     = "Ratelimit-Reset"
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	ctx := r.Context()
	id, d := docstrange.IdentityOf(r), docstrange.DecisionOf(r)
	if d == nil {
		// authz passes 405s on without a decision; they cost nothing.
		if id != nil {
			if _, _, ok := h.app.MatchRoute(r); ok {
				return next.ServeHTTP(w, r)
			}
		}
		h.log.ErrorContext(ctx, "docstrange_ratelimit runs without docstrange_authn and docstrange_authz before it; refusing")
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured"))
		return nil
	}
	res, err := h.app.Rates().Take(ctx, id.RateKey(), docstrange.RateOf(d.Limits))
	if err != nil {
		if h.storeFailed(w, r, err) {
			return nil
		}
		return next.ServeHTTP(w, r)
	}
	if res.Limit >= 0 {
		// Set directly under their canonical keys: Header.Set canonicalises
		// "RateLimit-Limit", allocating, on every request; the bytes on the
		// wire are the same.
		hd := w.Header()
		hd[hdrLimit] = []string{strconv.FormatInt(res.Limit, 10)}
		hd[hdrRemaining] = []string{strconv.FormatInt(res.Remaining, 10)}
		hd[hdrReset] = []string{strconv.FormatInt(secondsUntil(res.Reset), 10)}
	}
	if res.Reached {
		h.app.Metrics().Limited(id.Tier, api.CodeRateLimitExceeded)
		retry := secondsUntil(res.Reset)
		w.Header().Set("Retry-After", strconv.FormatInt(retry, 10))
		api.WriteError(w, api.Errorf(http.StatusTooManyRequests, api.CodeRateLimitExceeded,
			"the %s tier allows %d requests per %s; retry in %ds", id.Tier, res.Limit, period(d.Limits.Rate.PeriodSeconds), retry).
			With("limit", res.Limit).With("period_seconds", d.Limits.Rate.PeriodSeconds).
			With("retry_after_seconds", retry).With("tier", id.Tier))
		return nil
	}
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/documents" {
		if h.outOfQuota(w, r) {
			return nil
		}
	}
	return next.ServeHTTP(w, r)
}

// outOfQuota refuses a submission before its body is read when the tenant
// has no document left this period. It only reads the count; the job API
// reserves atomically at accept, so racing submissions cannot overshoot.
func (h *Handler) outOfQuota(w http.ResponseWriter, r *http.Request) bool {
	id, d := docstrange.IdentityOf(r), docstrange.DecisionOf(r)
	q := docstrange.QuotaOf(d.Limits)
	if q.Documents < 0 {
		return false
	}
	u, err := h.app.Quotas().Usage(r.Context(), id.Tenant, q, time.Now())
	if err != nil {
		return h.storeFailed(w, r, err)
	}
	if u.Allowed {
		return false
	}
	api.WriteError(w, docstrange.QuotaExceeded(id.Tier, string(q.Period), u.Used, u.Limit, u.Reset))
	h.app.Metrics().Limited(id.Tier, api.CodeQuotaExceeded)
	return true
}

// storeFailed handles a failing rate or quota store and reports whether the
// request was answered (fail closed) or may go on (fail open).
func (h *Handler) storeFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	if h.app.FailOpen() {
		h.app.Metrics().StoreError(docstrange.FailOpen)
		h.log.WarnContext(r.Context(), "rate limit store failed; letting the request through (on_store_error open)", "error", err)
		return false
	}
	h.app.Metrics().StoreError(docstrange.FailClosed)
	h.log.ErrorContext(r.Context(), "rate limit store failed; refusing (on_store_error closed)", "error", err)
	w.Header().Set("Retry-After", "1")
	api.WriteError(w, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "request limits cannot be checked right now; retry shortly"))
	return true
}

func secondsUntil(t time.Time) int64 { return docstrange.SecondsUntil(t) }

func period(seconds int64) string {
	switch seconds {
	case 1:
		return "second"
	case 60:
		return "minute"
	case 3600:
		return "hour"
	case 86400:
		return "day"
	}
	return fmt.Sprintf("%ds", seconds)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
)
