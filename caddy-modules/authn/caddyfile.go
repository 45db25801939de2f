package authn

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("docstrange_authn", parseCaddyfile)
}

// UnmarshalCaddyfile sets up the handler. Syntax:
//
//	docstrange_authn [<matcher>] {
//		anonymous      on|off
//		anonymous_tier <tier>
//		oidc {
//			issuer        <url>
//			audience      <aud>
//			jwks_url      <url>
//			tenant_claim  <claim>
//			tier_claim    <claim>
//			default_tier  <tier>
//			allowed_tiers <tier>...
//			leeway        <duration>
//		}
//	}
//
// An oidc block whose issuer is empty (an unset environment placeholder)
// leaves OIDC off.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch key := d.Val(); key {
		case "anonymous":
			var v string
			if !d.Args(&v) {
				return d.ArgErr()
			}
			switch v {
			case "on":
				on := true
				h.Anonymous = &on
			case "off":
				off := false
				h.Anonymous = &off
			default:
				return d.Errf("anonymous %q: must be on or off", v)
			}
		case "anonymous_tier":
			if !d.Args(&h.AnonymousTier) {
				return d.ArgErr()
			}
		case "oidc":
			c, err := unmarshalOIDC(d)
			if err != nil {
				return err
			}
			if c.Issuer != "" {
				h.OIDC = c
			}
			continue
		default:
			return d.Errf("unknown docstrange_authn option %q", key)
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	return nil
}

func unmarshalOIDC(d *caddyfile.Dispenser) (*OIDCConfig, error) {
	c := new(OIDCConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		if key == "allowed_tiers" {
			c.AllowedTiers = args
			continue
		}
		// An unset placeholder leaves an option without its value.
		if len(args) == 0 {
			continue
		}
		if len(args) != 1 {
			return nil, d.ArgErr()
		}
		v := args[0]
		switch key {
		case "issuer":
			c.Issuer = v
		case "audience":
			c.Audience = v
		case "jwks_url":
			c.JWKSURL = v
		case "tenant_claim":
			c.TenantClaim = v
		case "tier_claim":
			c.TierClaim = v
		case "default_tier":
			c.DefaultTier = v
		case "leeway":
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return nil, d.Errf("leeway %q: %v", v, err)
			}
			c.Leeway = caddy.Duration(dur)
		default:
			return nil, d.Errf("unknown oidc option %q", key)
		}
	}
	return c, nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}
