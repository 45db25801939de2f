package hsts

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("docstrange_security_headers", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("docstrange_security_headers", httpcaddyfile.Before, "header")
}

// UnmarshalCaddyfile sets up the handler. Syntax:
//
//	docstrange_security_headers {
//		max_age <duration>
//		no_subdomains
//		preload
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "max_age":
			var v string
			if !d.Args(&v) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("max_age %q: %v", v, err)
			}
			h.MaxAge = caddy.Duration(dur)
		case "no_subdomains":
			h.NoSubdomains = true
		case "preload":
			h.Preload = true
		default:
			return d.Errf("unknown docstrange_security_headers option %q", d.Val())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	return nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}
