// Package authz is the docstrange_authz handler: it asks the tier policy
// (OPA, prepared once in the docstrange app) whether the caller's tier may
// use the route, and records the decision, whose limits the ratelimit
// handler and the job API then enforce. The job API asks again once it has
// read a submission's options and size.
package authz

import (
	"log/slog"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth/tiers"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Handler is http.handlers.docstrange_authz. It has no options: the rules
// and numbers are the policy's.
type Handler struct {
	app *docstrange.App
	log *slog.Logger
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_authz", New: func() caddy.Module { return new(Handler) }}
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
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	id := docstrange.IdentityOf(r)
	if id == nil {
		// A Caddyfile that puts authz before authn must fail closed.
		h.log.ErrorContext(r.Context(), "docstrange_authz runs before docstrange_authn; refusing")
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the edge is misconfigured"))
		return nil
	}
	method, route, ok := h.app.MatchRoute(r)
	if !ok {
		// No handler serves this path, so there is nothing to authorise:
		// answer as the router would, without letting the request on to
		// handlers the policy never saw.
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
		return nil
	}
	if method == "" {
		// A known path with a method it does not take: its handler
		// answers 405 without doing anything.
		return next.ServeHTTP(w, r)
	}
	d, err := h.app.Policy().Decide(r.Context(), tiers.Input{
		Tier: id.Tier, Tenant: id.Tenant, Method: r.Method, Route: route, Size: -1,
	})
	if err != nil {
		h.log.ErrorContext(r.Context(), "evaluating tier policy", "error", err)
		api.WriteError(w, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the request could not be authorised"))
		return nil
	}
	if !d.Allow {
		h.app.Metrics().Denied(id.Tier, d.Reason)
		api.WriteError(w, docstrange.DenialError(d))
		return nil
	}
	docstrange.SetDecision(r, d)
	return next.ServeHTTP(w, r)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
)
