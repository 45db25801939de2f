package oidc

import (
	"encoding/json"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
)

// refusal turns a failed go-oidc Verify into one of our errors. go-oidc's
// own errors are text that may quote the token's claims, so they are never
// passed on: the reason is worked out again from what the key set saw.
func (v *Verifier) refusal(att *attempt) error {
	switch {
	case att.err != nil:
		// The key set's errors are already ours.
		return att.err
	case att.payload == nil:
		// go-oidc gave up before asking for a signature check.
		return invalid("malformed token")
	}
	// The signature held, so go-oidc refused a claim.
	var c map[string]any
	if err := json.Unmarshal(att.payload, &c); err != nil {
		return invalid("malformed claims")
	}
	if iss, _ := c["iss"].(string); iss != v.cfg.Issuer {
		return invalid("wrong issuer")
	}
	if !hasAudience(c["aud"], v.cfg.Audience) {
		return invalid("wrong audience")
	}
	return invalid("malformed claims")
}

func hasAudience(aud any, want string) bool {
	switch aud := aud.(type) {
	case string:
		return aud == want
	case []any:
		return slices.Contains(aud, any(want))
	}
	return false
}

// claims applies the time, tenant and tier rules to a token go-oidc
// accepted.
func (v *Verifier) claims(tok *oidc.IDToken) (Claims, error) {
	var c map[string]any
	if err := tok.Claims(&c); err != nil {
		return Claims{}, invalid("malformed claims")
	}
	if err := v.checkTimes(tok, c); err != nil {
		return Claims{}, err
	}
	tenant, err := v.tenant(tok, c)
	if err != nil {
		return Claims{}, err
	}
	tier, err := v.tier(c)
	if err != nil {
		return Claims{}, err
	}
	return Claims{Subject: tok.Subject, Tenant: tenant, Tier: tier, Issuer: tok.Issuer, Expiry: tok.Expiry}, nil
}

// checkTimes requires exp, and checks exp, nbf and iat with leeway.
func (v *Verifier) checkTimes(tok *oidc.IDToken, c map[string]any) error {
	now, leeway := v.cfg.Now(), v.cfg.Leeway
	if tok.Expiry.IsZero() {
		return invalid("token has no expiry")
	}
	if now.After(tok.Expiry.Add(leeway)) {
		return invalid("token expired")
	}
	if raw, ok := c["nbf"]; ok && raw != nil {
		secs, ok := raw.(float64)
		if !ok {
			return invalid("malformed claims")
		}
		if float64(now.Add(leeway).UnixNano())/float64(time.Second) < secs {
			return invalid("token not yet valid")
		}
	}
	if !tok.IssuedAt.IsZero() && now.Add(leeway).Before(tok.IssuedAt) {
		return invalid("token issued in the future")
	}
	return nil
}

// tenant reads the tenant claim. A subject is prefixed so that it cannot
// pose as a tenant of another kind.
func (v *Verifier) tenant(tok *oidc.IDToken, c map[string]any) (string, error) {
	var tenant string
	if v.cfg.TenantClaim == DefaultTenantClaim {
		if tok.Subject == "" {
			return "", invalid("token has no subject")
		}
		tenant = TenantPrefix + tok.Subject
	} else {
		s, ok := c[v.cfg.TenantClaim].(string)
		if !ok {
			return "", invalid("tenant claim missing or not a string")
		}
		tenant = s
	}
	if !validTenant(tenant) {
		return "", invalid("tenant claim not a valid tenant")
	}
	return tenant, nil
}

// validTenant accepts a non-empty UTF-8 string of at most maxTenantBytes
// bytes, with only printable characters and no white space: tenants end up
// in storage keys, metric labels and log lines.
func validTenant(s string) bool {
	if s == "" || len(s) > maxTenantBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// tier reads the tier claim, DefaultTier when absent.
func (v *Verifier) tier(c map[string]any) (string, error) {
	raw, ok := c[v.cfg.TierClaim]
	if !ok || raw == nil {
		return v.cfg.DefaultTier, nil
	}
	tier, ok := raw.(string)
	if !ok {
		return "", invalid("tier claim not a string")
	}
	if !slices.Contains(v.cfg.AllowedTiers, tier) {
		return "", invalid("tier not allowed")
	}
	return tier, nil
}
