// Package oidctest is a fake OpenID Connect identity provider for tests: it
// serves a discovery document and a key set over httptest, signs tokens, and
// rotates its key. Tests of other packages (the edge's e2e tests) use it too.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Paths served by an Issuer.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/jwks"
)

// DefaultLifetime is the exp that Sign gives a token without one.
const DefaultLifetime = 5 * time.Minute

// Issuer is a running fake identity provider. Its methods are safe for
// concurrent use.
type Issuer struct {
	// URL is the issuer identifier, the iss of its tokens, and the base URL
	// of its discovery document.
	URL string
	// JWKSURL is where its key set is served.
	JWKSURL string

	tb  testing.TB
	alg jose.SignatureAlgorithm

	mu               sync.Mutex
	key              crypto.Signer
	kid              string
	generation       int
	down             bool
	jwksFetches      int
	discoveryFetches int
}

// Option changes an Issuer made by NewIssuer.
type Option func(*Issuer)

// WithAlgorithm makes the issuer sign with alg: RS256 (the default), PS256,
// ES256 or EdDSA.
func WithAlgorithm(alg string) Option {
	return func(i *Issuer) { i.alg = jose.SignatureAlgorithm(alg) }
}

// NewIssuer starts an issuer, stopped by tb's cleanup.
func NewIssuer(tb testing.TB, opts ...Option) *Issuer {
	tb.Helper()
	i := &Issuer{tb: tb, alg: jose.RS256}
	for _, opt := range opts {
		opt(i)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, i.serveDiscovery)
	mux.HandleFunc("GET "+JWKSPath, i.serveJWKS)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	i.URL = srv.URL
	i.JWKSURL = srv.URL + JWKSPath
	i.Rotate()
	return i
}

// Rotate replaces the signing key with a new one, with a new key id. The old
// key leaves the key set, so tokens it signed no longer verify once a
// verifier has fetched the new set.
func (i *Issuer) Rotate() {
	i.tb.Helper()
	key, err := newKey(i.alg)
	if err != nil {
		i.tb.Fatalf("oidctest: generating a %s key: %v", i.alg, err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.generation++
	i.key, i.kid = key, fmt.Sprintf("key-%d", i.generation)
}

func newKey(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jose.RS256, jose.PS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("unsupported algorithm %q", alg)
}

// KeyID is the kid of the current signing key.
func (i *Issuer) KeyID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.kid
}

// PublicKey is the current signing key's public half.
func (i *Issuer) PublicKey() crypto.PublicKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.key.Public()
}

// Sign returns a compact JWT of claims signed with the current key. It fills
// in iss (URL), iat (now) and exp (now + DefaultLifetime) when claims lack
// them; a claim set to nil is left out of the token, to test its absence.
func (i *Issuer) Sign(claims map[string]any) string {
	i.tb.Helper()
	c := map[string]any{
		"iss": i.URL,
		"iat": time.Now().Unix(),
		"exp": time.Now().Add(DefaultLifetime).Unix(),
	}
	maps.Copy(c, claims)
	maps.DeleteFunc(c, func(_ string, v any) bool { return v == nil })
	payload, err := json.Marshal(c)
	if err != nil {
		i.tb.Fatalf("oidctest: encoding claims: %v", err)
	}
	i.mu.Lock()
	key, kid := i.key, i.kid
	i.mu.Unlock()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: i.alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"),
	)
	if err != nil {
		i.tb.Fatalf("oidctest: making a signer: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		i.tb.Fatalf("oidctest: signing: %v", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		i.tb.Fatalf("oidctest: serializing: %v", err)
	}
	return token
}

// SetUnavailable makes both endpoints answer 503 while down is true.
func (i *Issuer) SetUnavailable(down bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.down = down
}

// JWKSFetches counts the key set requests served so far, 503s included.
func (i *Issuer) JWKSFetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.jwksFetches
}

// DiscoveryFetches counts the discovery requests served so far, 503s
// included.
func (i *Issuer) DiscoveryFetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.discoveryFetches
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	i.mu.Lock()
	i.discoveryFetches++
	down := i.down
	i.mu.Unlock()
	if down {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, map[string]any{
		"issuer":                                i.URL,
		"jwks_uri":                              i.JWKSURL,
		"authorization_endpoint":                i.URL + "/authorize",
		"token_endpoint":                        i.URL + "/token",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(i.alg)},
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	i.mu.Lock()
	i.jwksFetches++
	down, key, kid := i.down, i.key, i.kid
	i.mu.Unlock()
	if down {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       key.Public(),
		KeyID:     kid,
		Algorithm: string(i.alg),
		Use:       "sig",
	}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
