// Package auth holds who a caller is. Its subpackages do the work: keys
// (API keys), oidc (bearer JWTs), tiers (the policy decision) and limits
// (request rates and document quotas).
package auth

import (
	"net/netip"
)

// Kind is how a caller proved who it is.
type Kind string

// Kinds of identity.
const (
	KindAnonymous Kind = "anonymous"
	KindAPIKey    Kind = "api_key"
	KindOAuth     Kind = "oauth"
)

// Identity is the authenticated caller of one request.
type Identity struct {
	Kind Kind `json:"kind"`
	// Tenant owns the caller's jobs and quota.
	Tenant string `json:"tenant"`
	// Tier names the policy tier.
	Tier string `json:"tier"`
	// KeyID is the API key's id, for KindAPIKey.
	KeyID string `json:"key_id,omitempty"`
	// Subject is the token's sub claim, for KindOAuth.
	Subject string `json:"subject,omitempty"`
}

// RateKey is the identity a request rate is counted against: the key, the
// token's subject, or the anonymous tenant. It carries the tier, so a key
// moved to another tier starts a fresh budget at that tier's rate.
func (id Identity) RateKey() string {
	who := id.Tenant
	switch id.Kind {
	case KindAPIKey:
		who = id.KeyID
	case KindOAuth:
		who = id.Tenant + "/" + id.Subject
	}
	return id.Tier + ":" + string(id.Kind) + ":" + who
}

// AnonymousTenant names the tenant of an anonymous caller at addr. An IPv6
// caller is grouped by its /64, the smallest block a site is usually given,
// so rotating addresses inside one's own network buys no extra free quota.
func AnonymousTenant(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		p, err := addr.Prefix(64)
		if err == nil {
			return "anon:" + p.String()
		}
	}
	return "anon:" + addr.String()
}
