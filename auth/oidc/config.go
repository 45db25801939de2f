package oidc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Defaults of Config.
const (
	DefaultTenantClaim        = "sub"
	DefaultTierClaim          = "docstrange_tier"
	DefaultTier               = "oauth"
	DefaultLeeway             = 30 * time.Second
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultHTTPTimeout        = 5 * time.Second
)

// TenantPrefix starts the tenant of a token whose tenant comes from its
// subject, so that an OAuth subject can never collide with an API-key tenant.
const TenantPrefix = "oidc:"

// maxTenantBytes bounds a tenant: it ends up in keys, labels and log lines.
const maxTenantBytes = 128

// Config says which tokens a Verifier accepts. It is a Go value, not a
// Caddy config: the edge's authn module owns the JSON shape and maps it here.
type Config struct {
	// Issuer is the iss every token must carry, exactly. Required. It must be
	// an https URL (http only on a loopback host, for tests).
	Issuer string
	// Audience is the value the aud of every token must contain: the
	// identifier of this API at the identity provider, not a client's id.
	// Required.
	Audience string
	// JWKSURL is where the signing keys are published. Default: the jwks_uri
	// of Issuer's discovery document, fetched at first use, so that an
	// identity provider that is down at start does not stop the edge.
	JWKSURL string
	// TenantClaim names the claim that holds the tenant. Default: "sub", in
	// which case the tenant is TenantPrefix + sub; any other claim's string
	// value is the tenant as it is.
	TenantClaim string
	// TierClaim names the claim that holds the tier. Default:
	// "docstrange_tier". A token without it gets DefaultTier.
	TierClaim string
	// DefaultTier is the tier of a token without a tier claim. Default:
	// "oauth". It must be one of AllowedTiers.
	DefaultTier string
	// AllowedTiers are the tiers a token may claim; any other is refused.
	// Default: ["oauth", "enterprise"].
	AllowedTiers []string
	// Algorithms are the signing algorithms accepted. Default: RS256, ES256,
	// PS256 and EdDSA. Only asymmetric algorithms are allowed: never "none",
	// never HS*, whose secret would have to be shared with every verifier.
	Algorithms []string
	// Leeway is the clock skew tolerated on exp, nbf and iat. Default: 30s.
	Leeway time.Duration
	// MinRefreshInterval is the least time between two fetches of the key
	// set. A token signed with an unknown key triggers a fetch, so without
	// this bound every forged token would cost the identity provider a
	// request. A failed fetch is retried after at most a second. Default: 10s.
	MinRefreshInterval time.Duration
	// HTTPClient fetches the discovery document and the key set. Default: a
	// client with a 5s timeout.
	HTTPClient *http.Client
	// Logger receives the causes of failed fetches, which the errors that
	// Verify returns leave out because clients see them. Default:
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// defaultAlgorithms are the algorithms accepted when Config.Algorithms is
// empty: the ones identity providers actually use for access tokens.
var defaultAlgorithms = []string{oidc.RS256, oidc.ES256, oidc.PS256, oidc.EdDSA}

// supportedAlgorithms are those go-oidc and go-jose verify with public keys.
var supportedAlgorithms = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.EdDSA,
}

// withDefaults returns cfg with its defaults filled in and checks it: a
// typo must fail here, never become a default.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Issuer == "" {
		return cfg, errors.New("issuer is required")
	}
	if err := checkURL(cfg.Issuer); err != nil {
		return cfg, fmt.Errorf("checking issuer: %w", err)
	}
	if cfg.Audience == "" {
		return cfg, errors.New("audience is required")
	}
	if cfg.JWKSURL != "" {
		if err := checkURL(cfg.JWKSURL); err != nil {
			return cfg, fmt.Errorf("checking jwks_url: %w", err)
		}
	}
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = DefaultTenantClaim
	}
	if cfg.TierClaim == "" {
		cfg.TierClaim = DefaultTierClaim
	}
	if cfg.DefaultTier == "" {
		cfg.DefaultTier = DefaultTier
	}
	if len(cfg.AllowedTiers) == 0 {
		cfg.AllowedTiers = []string{"oauth", "enterprise"}
	}
	for _, tier := range cfg.AllowedTiers {
		if tier == "" {
			return cfg, errors.New("allowed_tiers must not hold an empty tier")
		}
	}
	if !slices.Contains(cfg.AllowedTiers, cfg.DefaultTier) {
		return cfg, fmt.Errorf("default tier %q is not one of the allowed tiers %q", cfg.DefaultTier, cfg.AllowedTiers)
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = defaultAlgorithms
	}
	for _, alg := range cfg.Algorithms {
		if !slices.Contains(supportedAlgorithms, alg) {
			return cfg, fmt.Errorf("signing algorithm %q is not allowed: use one of %q", alg, supportedAlgorithms)
		}
	}
	switch {
	case cfg.Leeway < 0:
		return cfg, errors.New("leeway must not be negative")
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	}
	switch {
	case cfg.MinRefreshInterval < 0:
		return cfg, errors.New("min_refresh_interval must not be negative")
	case cfg.MinRefreshInterval == 0:
		cfg.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

// checkURL accepts an absolute https URL, or an http one on a loopback
// host: keys fetched in clear over a network could be swapped by anyone on
// the path.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parsing %q: %w", raw, err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must be an absolute URL without credentials, query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if host := u.Hostname(); host == "localhost" || net.ParseIP(host).IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("%q must use https", raw)
}
