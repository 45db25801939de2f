// Package jobs is the docstrange_jobs handler: the REST job API of DESIGN §2
// (submit, status with long polling, events, results, cancel, list) and the
// health endpoints.
package jobs

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Defaults of Handler.
const (
	// DefaultMaxWait bounds ?wait= long polls.
	DefaultMaxWait = 60 * time.Second
	// DefaultSSEKeepAlive keeps proxies from closing a quiet event stream.
	DefaultSSEKeepAlive = 15 * time.Second
)

// Handler is http.handlers.docstrange_jobs.
type Handler struct {
	// MaxWait is the longest ?wait= honoured. Default: 60s.
	MaxWait caddy.Duration `json:"max_wait,omitempty"`
	// SSEKeepAlive is how often a quiet event stream gets a comment line,
	// so proxies and clients do not close it. Default: 15s.
	SSEKeepAlive caddy.Duration `json:"sse_keep_alive,omitempty"`

	app    *docstrange.App
	log    *slog.Logger
	routes *docstrange.Routes
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_jobs", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner.
func (h *Handler) Provision(ctx caddy.Context) error {
	app, err := ctx.App("docstrange")
	if err != nil {
		return err
	}
	h.app = app.(*docstrange.App)
	h.log = docstrange.RequestLogger(ctx.Slogger())
	if h.MaxWait == 0 {
		h.MaxWait = caddy.Duration(DefaultMaxWait)
	}
	if h.SSEKeepAlive == 0 {
		h.SSEKeepAlive = caddy.Duration(DefaultSSEKeepAlive)
	}
	h.routes = h.buildRoutes()
	return h.app.RegisterRoutes(h.routes)
}

// Validate implements caddy.Validator.
func (h *Handler) Validate() error {
	if h.MaxWait < 0 {
		return fmt.Errorf("max_wait must not be negative")
	}
	if h.SSEKeepAlive < caddy.Duration(100*time.Millisecond) {
		return fmt.Errorf("sse_keep_alive must be at least 100ms")
	}
	return nil
}

func (h *Handler) buildRoutes() *docstrange.Routes {
	rt := docstrange.NewRoutes()
	rt.Handle(http.MethodPost, "/api/v1/documents", h.submit)
	rt.Handle(http.MethodGet, "/api/v1/jobs", h.list)
	rt.Handle(http.MethodGet, "/api/v1/jobs/{id}", h.get)
	rt.Handle(http.MethodDelete, "/api/v1/jobs/{id}", h.cancel)
	rt.Handle(http.MethodGet, "/api/v1/jobs/{id}/events", h.events)
	rt.Handle(http.MethodGet, "/api/v1/jobs/{id}/result", h.result)
	rt.Handle(http.MethodGet, "/api/v1/jobs/{id}/webhooks", h.webhooks)
	rt.Handle(http.MethodPost, "/api/v1/batches", h.submitBatch)
	rt.Handle(http.MethodGet, "/api/v1/batches/{id}", h.getBatch)
	rt.Handle(http.MethodDelete, "/api/v1/batches/{id}", h.cancelBatch)
	rt.Handle(http.MethodGet, "/api/v1/me", h.me)
	rt.Handle(http.MethodGet, "/api/v1/usage", h.usage)
	rt.Handle(http.MethodGet, "/api/v1/health/live", h.live)
	rt.Handle(http.MethodGet, "/api/v1/health/ready", h.ready)
	rt.Handle(http.MethodGet, "/api/v1/health", h.health)
	return rt
}

// ServeHTTP implements caddyhttp.MiddlewareHandler: requests no route
// matches pass on to the next handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return h.routes.ServeHTTP(w, r, next)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
)
