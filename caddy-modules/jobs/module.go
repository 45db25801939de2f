// Package jobs is the docstrange_jobs handler: the REST job API of DESIGN §2
// (submit, status with long polling, events, results, cancel, list) and the
// health endpoints.
package jobs

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// DefaultMaxWait bounds ?wait= long polls.
const DefaultMaxWait = 60 * time.Second

// Handler is http.handlers.docstrange_jobs.
type Handler struct {
	// MaxWait is the longest ?wait= honoured. Default: 60s.
	MaxWait caddy.Duration `json:"max_wait,omitempty"`

	app *docstrange.App
	log *slog.Logger
	mux *http.ServeMux
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
	h.mux = h.routes()
	return nil
}

// Validate implements caddy.Validator.
func (h *Handler) Validate() error {
	if h.MaxWait < 0 {
		return fmt.Errorf("max_wait must not be negative")
	}
	return nil
}

// routes uses the standard library's pattern mux. Each path also gets a
// method-less pattern, which the mux ranks below the method ones, so a wrong
// method gets 405 in our error shape rather than the mux's plain text.
func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	add := func(method, path string, fn http.HandlerFunc) {
		mux.HandleFunc(method+" "+path, fn)
		if allowed[path] == nil {
			paths = append(paths, path)
		}
		allowed[path] = append(allowed[path], method)
	}
	add(http.MethodPost, "/api/v1/documents", h.submit)
	add(http.MethodGet, "/api/v1/jobs", h.list)
	add(http.MethodGet, "/api/v1/jobs/{id}", h.get)
	add(http.MethodDelete, "/api/v1/jobs/{id}", h.cancel)
	add(http.MethodGet, "/api/v1/jobs/{id}/events", h.events)
	add(http.MethodGet, "/api/v1/jobs/{id}/result", h.result)
	add(http.MethodGet, "/api/v1/health/live", h.live)
	add(http.MethodGet, "/api/v1/health/ready", h.ready)
	add(http.MethodGet, "/api/v1/health", h.health)
	for _, p := range paths {
		mux.HandleFunc(p, methodNotAllowed(strings.Join(allowed[p], ", ")))
	}
	return mux
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		api.WriteError(w, api.Errorf(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "%s is not allowed here; allowed: %s", r.Method, allow))
	}
}

// ServeHTTP implements caddyhttp.MiddlewareHandler: requests no route
// matches pass on to the next handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// Handler only finds the pattern; ServeHTTP matches again because only
	// it fills the request's path values.
	_, pattern := h.mux.Handler(r)
	if pattern == "" {
		return next.ServeHTTP(w, r)
	}
	caddyhttp.SetVar(r.Context(), docstrange.VarRoute, pattern)
	h.mux.ServeHTTP(w, r)
	return nil
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
)
