// Package hsts is the docstrange_security_headers handler: HSTS on answers
// sent over TLS (never over plain HTTP, where browsers ignore it and it
// would only mislead), plus the headers an API should always send.
package hsts

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// DefaultMaxAge is two years, the preload list's expectation.
const DefaultMaxAge = 2 * 365 * 24 * time.Hour

// Handler is http.handlers.docstrange_security_headers.
type Handler struct {
	// MaxAge of the Strict-Transport-Security header. Default: 2 years.
	MaxAge caddy.Duration `json:"max_age,omitempty"`
	// NoSubdomains leaves includeSubDomains out. Default: false.
	NoSubdomains bool `json:"no_subdomains,omitempty"`
	// Preload adds the preload token. Default: false, because preloading
	// is hard to undo and should be an operator's explicit choice.
	Preload bool `json:"preload,omitempty"`

	hsts string
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_security_headers", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner.
func (h *Handler) Provision(caddy.Context) error {
	if h.MaxAge == 0 {
		h.MaxAge = caddy.Duration(DefaultMaxAge)
	}
	h.hsts = fmt.Sprintf("max-age=%d", int64(time.Duration(h.MaxAge).Seconds()))
	if !h.NoSubdomains {
		h.hsts += "; includeSubDomains"
	}
	if h.Preload {
		h.hsts += "; preload"
	}
	return nil
}

// Validate implements caddy.Validator.
func (h *Handler) Validate() error {
	if h.MaxAge < 0 {
		return fmt.Errorf("max_age must not be negative")
	}
	if h.Preload && (h.NoSubdomains || time.Duration(h.MaxAge) < 365*24*time.Hour) {
		return fmt.Errorf("preload needs includeSubDomains and a max_age of at least one year")
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	hdr := w.Header()
	if r.TLS != nil {
		hdr.Set("Strict-Transport-Security", h.hsts)
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	// An API answers JSON and files; nothing it serves should run scripts
	// or be framed. The docs page, when it lands, sets its own policy.
	hdr.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	hdr.Del("Server")
	return next.ServeHTTP(w, r)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
)
