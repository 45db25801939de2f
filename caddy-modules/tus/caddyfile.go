package tus

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("docstrange_tus", parseCaddyfile)
}

// UnmarshalCaddyfile sets up the handler. Syntax:
//
//	docstrange_tus {
//		max_size         <size, e.g. 1GiB>
//		max_metadata     <bytes>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		key := d.Val()
		var v string
		if !d.Args(&v) {
			return d.ArgErr()
		}
		var err error
		switch key {
		case "max_size":
			var n uint64
			n, err = humanize.ParseBytes(v)
			h.MaxSize = int64(n)
		case "max_metadata":
			h.MaxMetadata, err = strconv.Atoi(v)
		default:
			return d.Errf("unknown docstrange_tus option %q", key)
		}
		if err != nil {
			return d.Errf("%s %q: %v", key, v, err)
		}
	}
	return nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}
