// Package cors is the docstrange_cors handler: CORS for browser clients of
// the API, on top of github.com/rs/cors. It answers preflights itself, so
// they never reach authentication, and refuses a preflight from an origin it
// does not know with the API's JSON error. Without allowed origins it does
// nothing at all, which is the default: CORS is opt-in per deployment.
package cors

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/rs/cors"

	"github.com/docstrange/mesh/api"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// DefaultMaxAge is how long browsers may cache a preflight's answer.
const DefaultMaxAge = 10 * time.Minute

// Defaults of the lists. They are copied into a Handler, never shared.
var (
	defaultMethods = []string{
		http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodHead, http.MethodPatch, http.MethodOptions,
	}
	defaultHeaders = []string{
		"Authorization", "X-API-Key", "Content-Type", "Idempotency-Key", "X-Request-ID",
		// tus resumable uploads.
		"Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Defer-Length", "Upload-Concat", "Upload-Checksum",
	}
	defaultExposed = []string{
		"Location", "X-Request-ID", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After", "Idempotent-Replayed", "X-Job-ID",
		// tus resumable uploads.
		"Upload-Offset", "Upload-Length", "Upload-Expires", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm",
	}
)

// Log keys.
const (
	logKeyOrigin = "origin"
	logKeyMethod = "method"
)

// maxQuoted bounds a request header quoted back in a refusal.
const maxQuoted = 256

// Handler is http.handlers.docstrange_cors.
type Handler struct {
	// AllowedOrigins are the origins browsers may call the API from: exact
	// origins such as "https://app.example", one wildcard subdomain such as
	// "https://*.example.com", or "*" alone. An entry may hold several
	// origins separated by commas or spaces, and placeholders such as
	// {env.DOCSTRANGE_CORS_ORIGINS}, so one environment variable can carry
	// the list. Default: none, and CORS is off: no CORS headers, and
	// preflights go on to the next handler.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// AllowedMethods may be used cross-origin. Default: GET, POST, DELETE,
	// HEAD, PATCH, OPTIONS.
	AllowedMethods []string `json:"allowed_methods,omitempty"`
	// AllowedHeaders may be sent cross-origin; "*" allows any. Default:
	// Authorization, X-API-Key, Content-Type, Idempotency-Key, X-Request-ID
	// and the tus request headers (Tus-Resumable, Upload-Length,
	// Upload-Offset, Upload-Metadata, Upload-Defer-Length, Upload-Concat,
	// Upload-Checksum).
	AllowedHeaders []string `json:"allowed_headers,omitempty"`
	// ExposedHeaders are the response headers scripts may read. Default:
	// Location, X-Request-ID, RateLimit-Limit, RateLimit-Remaining,
	// RateLimit-Reset, Retry-After, Idempotent-Replayed, X-Job-ID and the tus
	// response headers (Upload-Offset, Upload-Length, Upload-Expires,
	// Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm).
	ExposedHeaders []string `json:"exposed_headers,omitempty"`
	// AllowCredentials lets browsers send cookies and client certificates.
	// Default: false. It cannot be combined with the origin "*".
	AllowCredentials bool `json:"allow_credentials,omitempty"`
	// MaxAge is how long a preflight's answer may be cached, in whole
	// seconds. Default: 10m.
	MaxAge caddy.Duration `json:"max_age,omitempty"`

	cors *cors.Cors // nil when CORS is off
	log  *slog.Logger
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_cors", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner: it expands and splits the
// origins, fills in the defaults and builds the CORS policy.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.log = ctx.Slogger()
	repl := caddy.NewReplacer()
	var origins []string
	for _, entry := range h.AllowedOrigins {
		origins = append(origins, splitList(repl.ReplaceKnown(entry, ""))...)
	}
	h.AllowedOrigins = origins
	if len(h.AllowedMethods) == 0 {
		h.AllowedMethods = slices.Clone(defaultMethods)
	}
	for i, m := range h.AllowedMethods {
		h.AllowedMethods[i] = strings.ToUpper(m)
	}
	if len(h.AllowedHeaders) == 0 {
		h.AllowedHeaders = slices.Clone(defaultHeaders)
	}
	if len(h.ExposedHeaders) == 0 {
		h.ExposedHeaders = slices.Clone(defaultExposed)
	}
	if h.MaxAge == 0 {
		h.MaxAge = caddy.Duration(DefaultMaxAge)
	}
	if len(h.AllowedOrigins) == 0 {
		h.cors = nil
		return nil
	}
	h.cors = cors.New(cors.Options{
		AllowedOrigins:   h.AllowedOrigins,
		AllowedMethods:   h.AllowedMethods,
		AllowedHeaders:   h.AllowedHeaders,
		ExposedHeaders:   h.ExposedHeaders,
		AllowCredentials: h.AllowCredentials,
		MaxAge:           int(time.Duration(h.MaxAge) / time.Second),
		// ServeHTTP decides the preflight's status itself.
		OptionsPassthrough: true,
	})
	return nil
}

// Validate implements caddy.Validator.
func (h *Handler) Validate() error {
	for _, o := range h.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("checking allowed_origins: %w", err)
		}
	}
	if slices.Contains(h.AllowedOrigins, "*") {
		if len(h.AllowedOrigins) > 1 {
			return fmt.Errorf("checking allowed_origins: \"*\" must be the only origin, not one of %q", h.AllowedOrigins)
		}
		if h.AllowCredentials {
			return fmt.Errorf("checking allow_credentials: credentials cannot be allowed for the origin \"*\": list the origins")
		}
	}
	for _, m := range h.AllowedMethods {
		if !slices.Contains(knownMethods, m) {
			return fmt.Errorf("checking allowed_methods: unknown method %q", m)
		}
	}
	for _, hdr := range h.AllowedHeaders {
		if hdr != "*" && !isToken(hdr) {
			return fmt.Errorf("checking allowed_headers: %q is not a header name", hdr)
		}
	}
	for _, hdr := range h.ExposedHeaders {
		if !isToken(hdr) {
			return fmt.Errorf("checking exposed_headers: %q is not a header name", hdr)
		}
	}
	if h.MaxAge < 0 {
		return fmt.Errorf("checking max_age: must not be negative")
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.cors == nil {
		return next.ServeHTTP(w, r)
	}
	origin := r.Header.Get("Origin")
	if r.Method != http.MethodOptions || origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		// An actual request, or an OPTIONS that is not a browser's
		// preflight: add the headers its origin earns, and go on.
		var err error
		h.cors.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) { err = next.ServeHTTP(w, r) })
		return err
	}
	// A preflight: answered here, so that it needs no credentials.
	h.cors.ServeHTTP(w, r, func(http.ResponseWriter, *http.Request) {})
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	method := r.Header.Get("Access-Control-Request-Method")
	h.log.DebugContext(r.Context(), "CORS preflight refused", logKeyOrigin, origin, logKeyMethod, method)
	if !h.cors.OriginAllowed(r) {
		api.WriteError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "CORS: origin %q is not allowed", clip(origin)))
		return nil
	}
	api.WriteError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden,
		"CORS: method %q or the requested headers are not allowed from origin %q", clip(method), clip(origin)))
	return nil
}

// clip bounds a request header quoted back in a refusal.
func clip(s string) string {
	if len(s) > maxQuoted {
		return s[:maxQuoted] + "…"
	}
	return s
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
)
