// Package requestid is the request_id handler: it accepts a well-formed
// incoming X-Request-ID or makes one, and puts it on the response, on the
// request (for access logs and upstreams) and in the request's variables.
package requestid

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/rs/xid"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// maxLen bounds an accepted incoming id; longer ones are replaced, not cut.
const maxLen = 128

// Handler is http.handlers.request_id.
type Handler struct{}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.request_id", New: func() caddy.Module { return new(Handler) }}
}

// Valid reports whether id may be echoed back: short, and only characters
// that cannot split a header or a log line.
func Valid(id string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// New returns a fresh id: "req_" and a time-ordered xid.
func New() string { return "req_" + xid.New().String() }

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	id := r.Header.Get(api.HeaderRequestID)
	if !Valid(id) {
		id = New()
		r.Header.Set(api.HeaderRequestID, id)
	}
	w.Header().Set(api.HeaderRequestID, id)
	caddyhttp.SetVar(r.Context(), docstrange.VarRequestID, id)
	return next.ServeHTTP(w, r)
}

// Interface guards.
var _ caddyhttp.MiddlewareHandler = (*Handler)(nil)
