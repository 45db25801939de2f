package cors

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("docstrange_cors", parseCaddyfile)
}

// UnmarshalCaddyfile sets up the handler. Syntax:
//
//	docstrange_cors [<origins...>] {
//		origins     <origins...>
//		methods     <methods...>
//		headers     <headers...>
//		expose      <headers...>
//		credentials
//		max_age     <duration>
//	}
//
// Origins may be given on the directive's line, in the block, or both, and
// each argument may hold several separated by commas, so that
//
//	docstrange_cors {$DOCSTRANGE_CORS_ORIGINS}
//
// takes the list from the environment when the Caddyfile is adapted. An
// empty list, as from an unset variable, leaves CORS off. methods, headers
// and expose replace their default lists rather than add to them. The block
// is optional.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	for d.NextArg() {
		h.AllowedOrigins = append(h.AllowedOrigins, splitList(d.Val())...)
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "origins":
			for d.NextArg() {
				h.AllowedOrigins = append(h.AllowedOrigins, splitList(d.Val())...)
			}
		case "methods", "headers", "expose":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			var list []string
			for _, a := range args {
				list = append(list, splitList(a)...)
			}
			switch opt {
			case "methods":
				h.AllowedMethods = append(h.AllowedMethods, list...)
			case "headers":
				h.AllowedHeaders = append(h.AllowedHeaders, list...)
			case "expose":
				h.ExposedHeaders = append(h.ExposedHeaders, list...)
			}
		case "credentials":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.AllowCredentials = true
		case "max_age":
			var v string
			if !d.Args(&v) {
				return d.ArgErr()
			}
			if d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("max_age %q: %v", v, err)
			}
			h.MaxAge = caddy.Duration(dur)
		default:
			return d.Errf("unknown docstrange_cors option %q", opt)
		}
	}
	return nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
