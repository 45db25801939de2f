// Package authn is the docstrange_authn handler: it finds out who a request
// comes from (an API key, an OIDC bearer JWT, or an anonymous caller by
// client IP) and records the identity for the handlers after it. A
// credential that is present but wrong is refused with 401; it never
// degrades to anonymous.
package authn

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/auth"
	"github.com/docstrange/mesh/auth/keys"
	"github.com/docstrange/mesh/auth/oidc"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// DefaultAnonymousTier is the tier of callers without credentials.
const DefaultAnonymousTier = "free"

// Handler is http.handlers.docstrange_authn.
type Handler struct {
	// Anonymous lets callers without credentials in, on AnonymousTier, as
	// the tenant of their client IP (Caddy's client_ip, which honours the
	// server's trusted_proxies). Default: true.
	Anonymous *bool `json:"anonymous,omitempty"`
	// AnonymousTier is the tier of anonymous callers. Default: free.
	AnonymousTier string `json:"anonymous_tier,omitempty"`
	// OIDC verifies bearer JWTs from one issuer. Default: none, and bearer
	// tokens other than API keys are refused.
	OIDC *OIDCConfig `json:"oidc,omitempty"`

	app      *docstrange.App
	log      *slog.Logger
	verifier *oidc.Verifier
}

// OIDCConfig is the issuer whose access tokens are accepted.
type OIDCConfig struct {
	// Issuer is the iss tokens carry; required.
	Issuer string `json:"issuer,omitempty"`
	// Audience is the aud tokens must carry; required.
	Audience string `json:"audience,omitempty"`
	// JWKSURL skips discovery. Default: from the issuer's discovery
	// document.
	JWKSURL string `json:"jwks_url,omitempty"`
	// TenantClaim names the claim with the tenant. Default: sub, giving
	// tenant "oidc:<sub>".
	TenantClaim string `json:"tenant_claim,omitempty"`
	// TierClaim names the claim with the tier. Default: docstrange_tier.
	TierClaim string `json:"tier_claim,omitempty"`
	// DefaultTier is the tier of a token without the claim. Default: oauth.
	DefaultTier string `json:"default_tier,omitempty"`
	// AllowedTiers are the tiers a token may claim. Default: oauth,
	// enterprise.
	AllowedTiers []string `json:"allowed_tiers,omitempty"`
	// Leeway is the clock skew allowed on exp and nbf. Default: 30s.
	Leeway caddy.Duration `json:"leeway,omitempty"`
}

// CaddyModule implements caddy.Module.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.docstrange_authn", New: func() caddy.Module { return new(Handler) }}
}

// Provision implements caddy.Provisioner.
func (h *Handler) Provision(ctx caddy.Context) error {
	app, err := ctx.App("docstrange")
	if err != nil {
		return err
	}
	h.app = app.(*docstrange.App)
	h.log = docstrange.RequestLogger(ctx.Slogger())
	if h.Anonymous == nil {
		on := true
		h.Anonymous = &on
	}
	if h.AnonymousTier == "" {
		h.AnonymousTier = DefaultAnonymousTier
	}
	if !h.app.Policy().HasTier(h.AnonymousTier) {
		return fmt.Errorf("anonymous_tier %q: not a tier in the policy data (%v)", h.AnonymousTier, h.app.Policy().Tiers())
	}
	if h.OIDC != nil {
		c := h.OIDC
		h.verifier, err = oidc.New(oidc.Config{
			Issuer: c.Issuer, Audience: c.Audience, JWKSURL: c.JWKSURL,
			TenantClaim: c.TenantClaim, TierClaim: c.TierClaim, DefaultTier: c.DefaultTier,
			AllowedTiers: c.AllowedTiers, Leeway: time.Duration(c.Leeway), Logger: h.log,
		})
		if err != nil {
			return fmt.Errorf("configuring oidc: %w", err)
		}
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	id, apiErr := h.identify(r)
	if apiErr != nil {
		switch apiErr.Status {
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="docstrange", error="invalid_token"`)
			h.app.Metrics().AuthFailed(failureKind(r))
		case http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", "1")
		}
		api.WriteError(w, apiErr)
		return nil
	}
	docstrange.SetIdentity(r, id)
	// Caddy's access log reports this as user_id.
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.auth.user.id", id.Tenant)
	}
	return next.ServeHTTP(w, r)
}

// failureKind labels a refused credential for metrics.
func failureKind(r *http.Request) string {
	cred, err := keys.ParseCredential(r.Header)
	switch {
	case err != nil:
		return "header"
	case cred.Kind == keys.KindNone:
		return "anonymous"
	}
	return cred.Kind.String()
}

func unauthenticated(format string, args ...any) *api.Error {
	return api.Errorf(http.StatusUnauthorized, api.CodeUnauthenticated, format, args...)
}

// identify maps the request's credential to an identity. Messages never
// contain the credential.
func (h *Handler) identify(r *http.Request) (*auth.Identity, *api.Error) {
	cred, err := keys.ParseCredential(r.Header)
	if err != nil {
		return nil, unauthenticated("%v", err)
	}
	ctx := r.Context()
	switch cred.Kind {
	case keys.KindAPIKey:
		k, err := h.app.Keys().Verify(ctx, cred.Value)
		switch {
		case errors.Is(err, keys.ErrRevoked):
			return nil, unauthenticated("the API key has been revoked")
		case errors.Is(err, keys.ErrInvalid):
			return nil, unauthenticated("the API key is not valid")
		case err != nil:
			h.log.ErrorContext(ctx, "verifying api key", "error", err)
			return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "API keys cannot be checked right now; retry shortly")
		}
		return &auth.Identity{Kind: auth.KindAPIKey, Tenant: k.Tenant, Tier: k.Tier, KeyID: k.ID}, nil
	case keys.KindBearer:
		if h.verifier == nil {
			return nil, unauthenticated("bearer tokens are not accepted here; send an API key (dsk_…)")
		}
		c, err := h.verifier.Verify(ctx, cred.Value)
		switch {
		case errors.Is(err, oidc.ErrUnavailable):
			h.log.ErrorContext(ctx, "verifying bearer token", "error", err)
			return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeDependencyUnavailable, "the token issuer's keys cannot be fetched right now; retry shortly")
		case err != nil:
			return nil, unauthenticated("the bearer token is not valid: %v", err)
		}
		return &auth.Identity{Kind: auth.KindOAuth, Tenant: c.Tenant, Tier: c.Tier, Subject: c.Subject}, nil
	}
	if !*h.Anonymous {
		return nil, unauthenticated("credentials are required: send Authorization: Bearer <API key or token>, or X-API-Key")
	}
	addr, err := clientAddr(r)
	if err != nil {
		h.log.ErrorContext(ctx, "reading client address", "error", err)
		return nil, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "the client address cannot be read")
	}
	return &auth.Identity{Kind: auth.KindAnonymous, Tenant: auth.AnonymousTenant(addr), Tier: h.AnonymousTier}, nil
}

// clientAddr is Caddy's client IP, which takes X-Forwarded-For only from
// the server's trusted_proxies, falling back to the connection's address.
func clientAddr(r *http.Request) (netip.Addr, error) {
	s, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	if s == "" {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			return netip.Addr{}, err
		}
		return ap.Addr(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return a.WithZone(""), nil
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
)
