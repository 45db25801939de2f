// Package oidc verifies the OAuth 2.0 bearer access tokens (JWTs) of an
// OpenID Connect identity provider for the edge's authn module, and turns
// them into a tenant and a tier.
//
// go-oidc checks the algorithm, the issuer and the audience; this package
// adds the key set cache (fetched again on key rotation, at a bounded rate),
// the time checks with leeway, the tenant and tier rules, and errors that are
// safe to show a client: they never hold the token, and the causes of fetch
// failures go to the log instead.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Errors of Verify. Their messages are safe to return to clients.
var (
	// ErrInvalidToken is a token that is not accepted: malformed, badly
	// signed, expired, for another issuer or audience, or claiming a tier or
	// tenant it may not. The wrapping error says which, in words fit for a
	// client.
	ErrInvalidToken = errors.New("invalid token")
	// ErrUnavailable is an identity provider whose discovery document or key
	// set cannot be fetched: the token may be fine, but cannot be checked.
	ErrUnavailable = errors.New("identity provider unavailable")
)

// maxTokenBytes bounds a token before any parsing; real ones are 1-2 KiB.
const maxTokenBytes = 16 << 10

// Claims is what an accepted token says about its bearer.
type Claims struct {
	// Subject is the token's sub, possibly empty when the tenant comes from
	// another claim.
	Subject string
	// Tenant is the tenant the request is billed and limited as.
	Tenant string
	// Tier is the token's tier, one of Config.AllowedTiers.
	Tier string
	// Issuer is the token's iss.
	Issuer string
	// Expiry is the token's exp.
	Expiry time.Time
}

// Verifier checks tokens against one issuer. It is safe for concurrent use
// and is meant to live as long as the configuration it was built from.
type Verifier struct {
	cfg  Config
	algs []jose.SignatureAlgorithm

	// tokens is nil until discovery has found the key set.
	tokens    atomic.Pointer[oidc.IDTokenVerifier]
	discovery flight[*oidc.IDTokenVerifier]

	mu           sync.Mutex
	discoveredAt time.Time // of the last failed discovery
	discoveryErr error
}

// New checks cfg and returns a Verifier. It makes no request: without a
// JWKSURL, discovery happens at the first Verify, and is retried while it
// fails.
func New(cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configuring oidc verifier: %w", err)
	}
	v := &Verifier{cfg: cfg}
	for _, alg := range cfg.Algorithms {
		v.algs = append(v.algs, jose.SignatureAlgorithm(alg))
	}
	if cfg.JWKSURL != "" {
		v.tokens.Store(v.newTokenVerifier(cfg.JWKSURL))
	}
	return v, nil
}

func (v *Verifier) newTokenVerifier(jwksURL string) *oidc.IDTokenVerifier {
	return oidc.NewVerifier(v.cfg.Issuer, newKeySet(v.cfg, jwksURL, v.algs), &oidc.Config{
		ClientID:             v.cfg.Audience,
		SupportedSigningAlgs: v.cfg.Algorithms,
		// go-oidc checks exp with no leeway and nbf with a fixed five
		// minutes; claims.go checks both, and iat, with Config.Leeway.
		SkipExpiryCheck: true,
		Now:             v.cfg.Now,
	})
}

// Verify checks raw, a JWT access token without its "Bearer " prefix, and
// returns its claims. Errors wrap ErrInvalidToken or ErrUnavailable.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	switch {
	case raw == "":
		return Claims{}, invalid("missing token")
	case len(raw) > maxTokenBytes:
		return Claims{}, invalid("token too large")
	}
	// Refuse a disallowed algorithm before anything else, and by name:
	// "none" and HS256 signed with the public key are classic attacks.
	if _, err := jose.ParseSignedCompact(raw, v.algs); err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return Claims{}, invalid("signing algorithm not allowed")
		}
		return Claims{}, invalid("malformed token")
	}
	tokens, err := v.tokenVerifier(ctx)
	if err != nil {
		return Claims{}, err
	}
	var att attempt
	tok, err := tokens.Verify(context.WithValue(ctx, attemptKey{}, &att), raw)
	if err != nil {
		return Claims{}, v.refusal(&att)
	}
	return v.claims(tok)
}

// tokenVerifier returns go-oidc's verifier, running discovery first if it
// has not succeeded yet.
func (v *Verifier) tokenVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	if t := v.tokens.Load(); t != nil {
		return t, nil
	}
	if err := v.recentDiscoveryFailure(); err != nil {
		return nil, err
	}
	t, err := v.discovery.do(ctx, v.discover)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("discovering the identity provider: %w", errors.Join(ErrUnavailable, ctx.Err()))
	}
	return t, err
}

func (v *Verifier) recentDiscoveryFailure() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.discoveryErr != nil && v.cfg.Now().Sub(v.discoveredAt) < min(v.cfg.MinRefreshInterval, failureBackoff) {
		return v.discoveryErr
	}
	return nil
}

// discover fetches the issuer's discovery document for its jwks_uri.
// NewProvider also checks that the document names our issuer.
func (v *Verifier) discover(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	if t := v.tokens.Load(); t != nil {
		return t, nil
	}
	if err := v.recentDiscoveryFailure(); err != nil {
		return nil, err
	}
	jwksURL, err := v.jwksURL(ctx)
	if err != nil {
		v.cfg.Logger.WarnContext(ctx, "discovering the OIDC identity provider failed", logKeyURL, v.cfg.Issuer, logKeyError, err)
		err = fmt.Errorf("discovering the identity provider: %w", ErrUnavailable)
		v.mu.Lock()
		v.discoveredAt, v.discoveryErr = v.cfg.Now(), err
		v.mu.Unlock()
		return nil, err
	}
	t := v.newTokenVerifier(jwksURL)
	v.tokens.Store(t)
	return t, nil
}

func (v *Verifier) jwksURL(ctx context.Context) (string, error) {
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, v.cfg.HTTPClient), v.cfg.Issuer)
	if err != nil {
		return "", fmt.Errorf("fetching discovery document: %w", err)
	}
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil {
		return "", fmt.Errorf("decoding discovery document: %w", err)
	}
	if meta.JWKSURL == "" {
		return "", errors.New("decoding discovery document: no jwks_uri")
	}
	if err := checkURL(meta.JWKSURL); err != nil {
		return "", fmt.Errorf("checking jwks_uri: %w", err)
	}
	return meta.JWKSURL, nil
}

// invalid is ErrInvalidToken with a reason fit for a client.
func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
}
