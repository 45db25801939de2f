package docstrange

import (
	"context"
	"log/slog"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// LogKeyRequestID is the log key of the request id on every line.
const LogKeyRequestID = "request_id"

// RequestLogger wraps a module's logger so that every record logged with a
// request's context carries that request's id, without each call site
// remembering to add it.
func RequestLogger(l *slog.Logger) *slog.Logger {
	return slog.New(requestHandler{l.Handler()})
}

type requestHandler struct{ slog.Handler }

func (h requestHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := caddyhttp.GetVar(ctx, VarRequestID).(string); ok && id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String(LogKeyRequestID, id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestHandler) WithGroup(name string) slog.Handler {
	return requestHandler{h.Handler.WithGroup(name)}
}
