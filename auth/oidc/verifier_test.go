package oidc

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/docstrange/mesh/auth/oidc/oidctest"
)

const testAudience = "https://api.docstrange.test"

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newVerifier returns a Verifier of iss's tokens for testAudience, using
// discovery, after mod has changed its Config.
func newVerifier(t *testing.T, iss *oidctest.Issuer, mod func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{Issuer: iss.URL, Audience: testAudience}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// wantInvalid fails unless err wraps ErrInvalidToken with reason, and keeps
// the token out of its message.
func wantInvalid(t *testing.T, err error, reason, token string) {
	t.Helper()
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
	if !strings.HasSuffix(err.Error(), ": "+reason) {
		t.Fatalf("err = %q, want reason %q", err, reason)
	}
	if token != "" && strings.Contains(err.Error(), token) {
		t.Fatalf("err %q holds the token", err)
	}
}

// unsignedToken is a JWT with alg "none".
func unsignedToken(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	hdr, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT", "kid": kid})
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(hdr) + "." + enc(body) + "."
}

// hmacWithPublicKey signs claims with HS256 keyed by the issuer's public key
// in PEM: the key confusion attack on verifiers that let the token pick the
// algorithm.
func hmacWithPublicKey(t *testing.T, iss *oidctest.Issuer, claims map[string]any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(iss.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: secret, KeyID: iss.KeyID()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestVerify(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	other := oidctest.NewIssuer(t) // same kid, different key
	now := time.Now()
	base := func(extra map[string]any) map[string]any {
		c := map[string]any{"sub": "user-1", "aud": testAudience}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name       string
		mod        func(*Config)
		claims     map[string]any
		token      func(t *testing.T) string // overrides claims
		want       Claims
		wantReason string // empty: accepted
	}{
		{name: "valid", claims: base(nil), want: Claims{Subject: "user-1", Tenant: "oidc:user-1", Tier: "oauth"}},
		{name: "audience array holding ours", claims: base(map[string]any{"aud": []string{"other", testAudience}}), want: Claims{Subject: "user-1", Tenant: "oidc:user-1", Tier: "oauth"}},
		{name: "tenant from a custom claim", mod: func(c *Config) { c.TenantClaim = "org_id" }, claims: base(map[string]any{"org_id": "acme"}), want: Claims{Subject: "user-1", Tenant: "acme", Tier: "oauth"}},
		{name: "custom tenant claim missing", mod: func(c *Config) { c.TenantClaim = "org_id" }, claims: base(nil), wantReason: "tenant claim missing or not a string"},
		{name: "custom tenant claim not a string", mod: func(c *Config) { c.TenantClaim = "org_id" }, claims: base(map[string]any{"org_id": 42}), wantReason: "tenant claim missing or not a string"},
		{name: "tenant with white space", claims: base(map[string]any{"sub": "user 1"}), wantReason: "tenant claim not a valid tenant"},
		{name: "tenant too long", claims: base(map[string]any{"sub": strings.Repeat("a", maxTenantBytes)}), wantReason: "tenant claim not a valid tenant"},
		{name: "no subject", claims: base(map[string]any{"sub": nil}), wantReason: "token has no subject"},
		{name: "tier enterprise", claims: base(map[string]any{"docstrange_tier": "enterprise"}), want: Claims{Subject: "user-1", Tenant: "oidc:user-1", Tier: "enterprise"}},
		{name: "tier admin refused", claims: base(map[string]any{"docstrange_tier": "admin"}), wantReason: "tier not allowed"},
		{name: "tier not a string", claims: base(map[string]any{"docstrange_tier": true}), wantReason: "tier claim not a string"},
		{name: "custom tier claim", mod: func(c *Config) { c.TierClaim = "plan" }, claims: base(map[string]any{"plan": "enterprise"}), want: Claims{Subject: "user-1", Tenant: "oidc:user-1", Tier: "enterprise"}},
		{name: "expired", claims: base(map[string]any{"exp": now.Add(-time.Hour).Unix()}), wantReason: "token expired"},
		{name: "expired within leeway", claims: base(map[string]any{"exp": now.Add(-10 * time.Second).Unix()}), want: Claims{Subject: "user-1", Tenant: "oidc:user-1", Tier: "oauth"}},
		{name: "expired beyond a short leeway", mod: func(c *Config) { c.Leeway = time.Second }, claims: base(map[string]any{"exp": now.Add(-10 * time.Second).Unix()}), wantReason: "token expired"},
		{name: "no expiry", claims: base(map[string]any{"exp": nil}), wantReason: "token has no expiry"},
		{name: "nbf in the future", claims: base(map[string]any{"nbf": now.Add(time.Hour).Unix()}), wantReason: "token not yet valid"},
		{name: "nbf within leeway", claims: base(map[string]any{"nbf": now.Add(10 * time.Second).Unix()}), want: Claims{Subject: "user-1", Tenant: "oidc:user-1", Tier: "oauth"}},
		{name: "nbf not a number", claims: base(map[string]any{"nbf": "soon"}), wantReason: "malformed claims"},
		{name: "iat in the future", claims: base(map[string]any{"iat": now.Add(time.Hour).Unix()}), wantReason: "token issued in the future"},
		{name: "wrong issuer", claims: base(map[string]any{"iss": "https://evil.example"}), wantReason: "wrong issuer"},
		{name: "wrong audience", claims: base(map[string]any{"aud": "https://other.example"}), wantReason: "wrong audience"},
		{name: "audience array without ours", claims: base(map[string]any{"aud": []string{"a", "b"}}), wantReason: "wrong audience"},
		{name: "no audience", claims: base(map[string]any{"aud": nil}), wantReason: "wrong audience"},
		{name: "signed by another key with the same kid", token: func(*testing.T) string {
			return other.Sign(base(map[string]any{"iss": iss.URL}))
		}, wantReason: "signature invalid"},
		{name: "alg none", token: func(t *testing.T) string {
			return unsignedToken(t, iss.KeyID(), base(map[string]any{"iss": iss.URL, "exp": now.Add(time.Hour).Unix()}))
		}, wantReason: "signing algorithm not allowed"},
		{name: "HS256 keyed with the public key", token: func(t *testing.T) string {
			return hmacWithPublicKey(t, iss, base(map[string]any{"iss": iss.URL, "exp": now.Add(time.Hour).Unix()}))
		}, wantReason: "signing algorithm not allowed"},
		{name: "RS256 not among the algorithms", mod: func(c *Config) { c.Algorithms = []string{"ES256"} }, claims: base(nil), wantReason: "signing algorithm not allowed"},
		{name: "empty", token: func(*testing.T) string { return "" }, wantReason: "missing token"},
		{name: "garbage", token: func(*testing.T) string { return "not-a-jwt" }, wantReason: "malformed token"},
		{name: "three garbage parts", token: func(*testing.T) string { return "a.b.c" }, wantReason: "malformed token"},
		{name: "too large", token: func(*testing.T) string { return strings.Repeat("a", maxTokenBytes+1) }, wantReason: "token too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, iss, tt.mod)
			var token string
			if tt.token != nil {
				token = tt.token(t)
			} else {
				token = iss.Sign(tt.claims)
			}
			got, err := v.Verify(t.Context(), token)
			if tt.wantReason != "" {
				wantInvalid(t, err, tt.wantReason, token)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Issuer != iss.URL || got.Expiry.IsZero() {
				t.Fatalf("claims %+v: want issuer %q and an expiry", got, iss.URL)
			}
			got.Issuer, got.Expiry = "", time.Time{}
			if got != tt.want {
				t.Fatalf("claims %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVerifyAlgorithms(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			iss := oidctest.NewIssuer(t, oidctest.WithAlgorithm(alg))
			v := newVerifier(t, iss, nil)
			token := iss.Sign(map[string]any{"sub": "svc", "aud": testAudience})
			got, err := v.Verify(t.Context(), token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Tenant != "oidc:svc" {
				t.Fatalf("tenant %q", got.Tenant)
			}
		})
	}
}

func TestValidTenant(t *testing.T) {
	tests := []struct {
		name   string
		tenant string
		want   bool
	}{
		{name: "plain", tenant: "oidc:user-1", want: true},
		{name: "email-like", tenant: "ops@acme.example", want: true},
		{name: "non-ascii letters", tenant: "société", want: true},
		{name: "max length", tenant: strings.Repeat("a", maxTenantBytes), want: true},
		{name: "empty", tenant: ""},
		{name: "too long", tenant: strings.Repeat("a", maxTenantBytes+1)},
		{name: "space", tenant: "a b"},
		{name: "tab", tenant: "a\tb"},
		{name: "newline", tenant: "a\nb"},
		{name: "no-break space", tenant: "a\u00a0b"},
		{name: "control", tenant: "a\x00b"},
		{name: "bidi override", tenant: "a\u202eb"},
		{name: "invalid utf-8", tenant: "a\xffb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validTenant(tt.tenant); got != tt.want {
				t.Fatalf("validTenant(%q) = %v, want %v", tt.tenant, got, tt.want)
			}
		})
	}
}

func TestVerifyCanceled(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A canceled caller is not left waiting; whether the fetch it started
	// still wins the race is not specified, so only the kind is checked.
	_, err := v.Verify(ctx, iss.Sign(map[string]any{"sub": "u", "aud": testAudience}))
	if err != nil && !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want nil or ErrUnavailable", err)
	}
}
