package jobs

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("docstrange_jobs", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("docstrange_jobs", httpcaddyfile.Before, "respond")
}

// UnmarshalCaddyfile sets up the handler. Syntax:
//
//	docstrange_jobs [<matcher>] {
//		max_wait       <duration>
//		sse_keep_alive <duration>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch key := d.Val(); key {
		case "max_wait", "sse_keep_alive":
			var v string
			if !d.Args(&v) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("%s %q: %v", key, v, err)
			}
			if key == "max_wait" {
				h.MaxWait = caddy.Duration(dur)
			} else {
				h.SSEKeepAlive = caddy.Duration(dur)
			}
		default:
			return d.Errf("unknown docstrange_jobs option %q", d.Val())
		}
	}
	return nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}
