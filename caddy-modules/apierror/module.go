// Package apierror is the docstrange_errors handler. On the normal route it
// recovers panics; inside handle_errors it renders Caddy's own errors
// (unknown route, body too large, upstream failures) in the API's error
// envelope, so every non-2xx answer has the same shape.
package apierror

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Handler is http.handlers.docstrange_errors.
type Handler struct {
	log *slog.Logger
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_errors", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.log = docstrange.RequestLogger(ctx.Slogger())
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	if herr, ok := r.Context().Value(caddyhttp.ErrorCtxKey).(error); ok {
		api.WriteError(w, FromError(herr))
		return nil
	}
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			h.log.ErrorContext(r.Context(), "handler panicked", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			err = caddyhttp.Error(http.StatusInternalServerError, fmt.Errorf("handler panicked: %v", rec))
		}
	}()
	return next.ServeHTTP(w, r)
}

// FromError maps an error that reached Caddy to the API error it should
// show. Internal messages of 5xx errors are not shown to clients.
func FromError(err error) *api.Error {
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	status := http.StatusInternalServerError
	var herr caddyhttp.HandlerError
	if errors.As(err, &herr) && herr.StatusCode != 0 {
		status = herr.StatusCode
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeFileTooLarge, "request body exceeds the maximum allowed size").With("max_size", mbe.Limit)
	}
	msg := http.StatusText(status)
	if status < 500 && herr.Err != nil {
		msg = herr.Err.Error()
	}
	e := api.Errorf(status, api.StatusCode(status), "%s", msg)
	if herr.ID != "" {
		e = e.With("error_id", herr.ID)
	}
	return e
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
)
