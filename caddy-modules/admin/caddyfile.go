package admin

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("docstrange_admin", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("docstrange_admin", httpcaddyfile.Before, "respond")
}

// UnmarshalCaddyfile sets up the handler. Syntax:
//
//	docstrange_admin {
//		token_env <VARIABLE>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "token_env":
			if !d.Args(&h.TokenEnv) {
				return d.ArgErr()
			}
		default:
			return d.Errf("unknown docstrange_admin option %q", d.Val())
		}
	}
	return nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}
