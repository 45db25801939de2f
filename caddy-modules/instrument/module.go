// Package instrument is the docstrange_instrument handler: it counts every
// request and times it by route, method and status into the docstrange
// app's metric set.
package instrument

import (
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// unmatched labels requests no API route claimed, so scanners probing random
// paths cannot blow up the label cardinality.
const unmatched = "unmatched"

// Handler is http.handlers.docstrange_instrument.
type Handler struct {
	metrics *docstrange.Metrics
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_instrument", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner.
func (h *Handler) Provision(ctx caddy.Context) error {
	app, err := ctx.App("docstrange")
	if err != nil {
		return err
	}
	h.metrics = app.(*docstrange.App).Metrics()
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	start := time.Now()
	rec := caddyhttp.NewResponseRecorder(w, nil, nil)
	err := next.ServeHTTP(rec, r)
	status := rec.Status()
	if err != nil {
		var herr caddyhttp.HandlerError
		status = http.StatusInternalServerError
		if errors.As(err, &herr) && herr.StatusCode != 0 {
			status = herr.StatusCode
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	route, _ := caddyhttp.GetVar(r.Context(), docstrange.VarRoute).(string)
	if route == "" {
		route = unmatched
	}
	h.metrics.Request(route, r.Method, status, time.Since(start))
	return err
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
)
