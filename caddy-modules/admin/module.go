// Package admin is the docstrange_admin handler: the operator API on its own
// listener. Every call needs `Authorization: Bearer <token>`, where the token
// comes from the environment; without one configured, the API refuses
// everything.
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
	"github.com/docstrange/mesh/plugins/host"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// DefaultTokenEnv names the variable holding the admin token.
const DefaultTokenEnv = "DOCSTRANGE_ADMIN_TOKEN"

// Handler is http.handlers.docstrange_admin.
type Handler struct {
	// TokenEnv names the environment variable with the bearer token. The
	// token itself never appears in config, so Caddy's config API cannot
	// leak it. Default: DOCSTRANGE_ADMIN_TOKEN.
	TokenEnv string `json:"token_env,omitempty"`

	tokenHash [sha256.Size]byte
	enabled   bool
	app       *docstrange.App
	log       *slog.Logger
	routes    *docstrange.Routes
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_admin", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.TokenEnv == "" {
		h.TokenEnv = DefaultTokenEnv
	}
	if tok := os.Getenv(h.TokenEnv); tok != "" {
		h.tokenHash, h.enabled = sha256.Sum256([]byte(tok)), true
	}
	app, err := ctx.App("docstrange")
	if err != nil {
		return err
	}
	h.app = app.(*docstrange.App)
	h.log = docstrange.RequestLogger(ctx.Slogger())
	if !h.enabled {
		h.log.Warn("admin API disabled: no token in the environment", "variable", h.TokenEnv)
	}
	h.routes = docstrange.NewRoutes()
	h.routes.Handle(http.MethodGet, "/admin/v1/backends", h.authorized(h.listBackends))
	h.routes.Handle(http.MethodPost, "/admin/v1/backends/{name}/reload", h.authorized(h.reloadBackend))
	h.routes.Handle(http.MethodPost, "/admin/v1/keys", h.authorized(h.createKey))
	h.routes.Handle(http.MethodGet, "/admin/v1/keys", h.authorized(h.listKeys))
	h.routes.Handle(http.MethodGet, "/admin/v1/keys/{id}", h.authorized(h.getKey))
	h.routes.Handle(http.MethodDelete, "/admin/v1/keys/{id}", h.authorized(h.revokeKey))
	h.routes.Handle(http.MethodGet, "/admin/v1/tiers", h.authorized(h.listTiers))
	h.routes.Handle(http.MethodGet, "/admin/v1/dead-letters", h.authorized(h.listDeadLetters))
	h.routes.Handle(http.MethodPost, "/admin/v1/dead-letters/{id}/redrive", h.authorized(h.redrive))
	return nil
}

// validToken compares hashes in constant time, so neither the token's
// content nor its length leaks through timing.
func (h *Handler) validToken(r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !h.enabled {
		return false
	}
	got := sha256.Sum256([]byte(raw))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// authorized guards a route with the admin token.
func (h *Handler) authorized(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !h.enabled:
			api.WriteError(w, api.Errorf(http.StatusForbidden, api.CodeForbidden, "the admin API is disabled: set %s", h.TokenEnv))
		case !h.validToken(r):
			w.Header().Set("WWW-Authenticate", `Bearer realm="docstrange-admin"`)
			api.WriteError(w, api.Errorf(http.StatusUnauthorized, api.CodeUnauthenticated, "a valid admin bearer token is required"))
		default:
			fn(w, r)
		}
	}
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return h.routes.ServeHTTP(w, r, next)
}

// backendView is one backend in the admin API.
type backendView struct {
	Name         string   `json:"name"`
	State        string   `json:"state"`
	Version      string   `json:"version"`
	Path         string   `json:"path"`
	SHA256       string   `json:"sha256"`
	APIVersion   string   `json:"api_version"`
	Tasks        []string `json:"tasks"`
	Requested    []string `json:"providers_requested"`
	Active       []string `json:"providers_active"`
	Reason       string   `json:"provider_reason,omitempty"`
	Models       []model  `json:"models"`
	Health       string   `json:"health"`
	HealthDetail string   `json:"health_detail,omitempty"`
	PID          int      `json:"pid"`
	RestartCount int      `json:"restart_count"`
	SwapCount    int      `json:"swap_count"`
	InFlight     int      `json:"in_flight"`
	LastError    string   `json:"last_error,omitempty"`
}

type model struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

func view(st host.Status) backendView {
	v := backendView{
		Name: st.Name, State: string(st.State), Version: st.Version, Path: st.Path, SHA256: st.SHA256,
		APIVersion: st.APIVersion, Tasks: st.Tasks, Requested: st.Providers.Requested, Active: st.Providers.Active,
		Reason: st.Providers.Reason, Health: st.Health.Status.String(), HealthDetail: st.Health.Detail, PID: st.PID,
		RestartCount: st.RestartCount, SwapCount: st.SwapCount, InFlight: st.InFlight, LastError: st.LastError,
		Models: []model{},
	}
	for _, m := range st.Models {
		v.Models = append(v.Models, model{Name: m.Name, Version: m.Version, SHA256: m.SHA256})
	}
	return v
}

func (h *Handler) listBackends(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Backends []backendView `json:"backends"`
	}{Backends: []backendView{}}
	for _, st := range h.app.Backends() {
		out.Backends = append(out.Backends, view(st))
	}
	writeJSON(w, http.StatusOK, out)
}

// reloadBackend hot-swaps a backend to the binary now in the backends
// folder: the new process is started and checked before it takes work, and
// the old one drains, so no job fails because of the swap.
func (h *Handler) reloadBackend(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := h.app.ReloadBackend(r.Context(), name)
	switch {
	case errors.Is(err, docstrange.ErrNoBackends), errors.Is(err, host.ErrUnknownBackend), errors.Is(err, host.ErrNoBinary):
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no backend %q: %v", name, err).With("backend", name))
		return
	case err != nil:
		h.log.ErrorContext(r.Context(), "reloading backend", "backend", name, "error", err)
		api.WriteError(w, api.Errorf(http.StatusBadGateway, api.CodeBackendUnavailable, "the new version of %q was refused; the old one keeps serving: %v", name, err).With("backend", name))
		return
	}
	h.log.InfoContext(r.Context(), "backend reloaded", "backend", name)
	for _, st := range h.app.Backends() {
		if st.Name == name {
			writeJSON(w, http.StatusOK, view(st))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": name})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
)
