package oidc

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/oidc/oidctest"
)

func TestKeyRotation(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	clk := newClock()
	v := newVerifier(t, iss, func(c *Config) {
		c.Now = clk.Now
		c.MinRefreshInterval = time.Minute
	})
	claims := map[string]any{"sub": "user-1", "aud": testAudience}
	oldToken := iss.Sign(claims)
	if _, err := v.Verify(t.Context(), oldToken); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}

	iss.Rotate()
	newToken := iss.Sign(claims)
	// The key set was fetched less than MinRefreshInterval ago: the new kid
	// does not trigger a fetch yet.
	_, err := v.Verify(t.Context(), newToken)
	wantInvalid(t, err, "unknown signing key", newToken)
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("%d key set fetches within the refresh interval, want 1", n)
	}

	clk.Advance(time.Minute)
	if _, err := v.Verify(t.Context(), newToken); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("%d key set fetches, want 2: the unknown kid should have triggered one", n)
	}
	_, err = v.Verify(t.Context(), oldToken)
	wantInvalid(t, err, "unknown signing key", oldToken)
	if _, err := v.Verify(t.Context(), newToken); err != nil {
		t.Fatalf("new key from the cache: %v", err)
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("%d key set fetches, want 2: known keys come from the cache", n)
	}
}

func TestUnknownKeysDoNotFloodTheProvider(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss, nil)
	claims := map[string]any{"sub": "user-1", "aud": testAudience}
	if _, err := v.Verify(t.Context(), iss.Sign(claims)); err != nil {
		t.Fatal(err)
	}
	forger := oidctest.NewIssuer(t)
	forger.Rotate() // kid "key-2", unknown to iss
	claims["iss"] = iss.URL
	for range 20 {
		_, err := v.Verify(t.Context(), forger.Sign(claims))
		wantInvalid(t, err, "unknown signing key", "")
	}
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("%d key set fetches, want 1", n)
	}
}

func TestConcurrentFirstUseFetchesOnce(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss, nil)
	token := iss.Sign(map[string]any{"sub": "user-1", "aud": testAudience})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range cap(errs) {
		wg.Go(func() {
			_, err := v.Verify(t.Context(), token)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if d, k := iss.DiscoveryFetches(), iss.JWKSFetches(); d != 1 || k != 1 {
		t.Fatalf("%d discovery and %d key set fetches, want 1 and 1", d, k)
	}
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name          string
		explicitJWKS  bool
		wantMessage   string
		wantDiscovery int
	}{
		{name: "discovery", wantMessage: "discovering the identity provider: identity provider unavailable", wantDiscovery: 2},
		{name: "explicit jwks url", explicitJWKS: true, wantMessage: "fetching signing keys: identity provider unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := oidctest.NewIssuer(t)
			clk := newClock()
			v := newVerifier(t, iss, func(c *Config) {
				c.Now = clk.Now
				if tt.explicitJWKS {
					c.JWKSURL = iss.JWKSURL
				}
			})
			token := iss.Sign(map[string]any{"sub": "user-1", "aud": testAudience})

			iss.SetUnavailable(true)
			_, err := v.Verify(t.Context(), token)
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if err.Error() != tt.wantMessage {
				t.Fatalf("message %q, want %q: no upstream detail for clients", err, tt.wantMessage)
			}
			// A failure is not retried at once.
			if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("second try: %v", err)
			}

			iss.SetUnavailable(false)
			clk.Advance(failureBackoff)
			if _, err := v.Verify(t.Context(), token); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
			if n := iss.DiscoveryFetches(); n != tt.wantDiscovery {
				t.Fatalf("%d discovery fetches, want %d", n, tt.wantDiscovery)
			}

			// Known keys keep working while the provider is down again.
			iss.SetUnavailable(true)
			clk.Advance(time.Hour)
			later := map[string]any{"sub": "user-2", "aud": testAudience, "iat": clk.Now().Unix(), "exp": clk.Now().Add(time.Minute).Unix()}
			if _, err := v.Verify(t.Context(), iss.Sign(later)); err != nil {
				t.Fatalf("cached key while down: %v", err)
			}
		})
	}
}

func TestExplicitJWKSURLSkipsDiscovery(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss, func(c *Config) { c.JWKSURL = iss.JWKSURL })
	if _, err := v.Verify(t.Context(), iss.Sign(map[string]any{"sub": "user-1", "aud": testAudience})); err != nil {
		t.Fatal(err)
	}
	if n := iss.DiscoveryFetches(); n != 0 {
		t.Fatalf("%d discovery fetches, want 0", n)
	}
}

func TestDiscoveryOfAnotherIssuer(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	// Same document, but the issuer it names differs by a slash.
	v := newVerifier(t, iss, func(c *Config) { c.Issuer = iss.URL + "/" })
	_, err := v.Verify(t.Context(), iss.Sign(map[string]any{"sub": "user-1", "aud": testAudience}))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestParseKeySet(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    int
		wantErr bool
	}{
		{name: "not json", body: "<html>", wantErr: true},
		{name: "no keys", body: `{"keys":[]}`, wantErr: true},
		{name: "only a symmetric key", body: `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}`, wantErr: true},
		{name: "unsupported curve skipped", body: `{"keys":[{"kty":"EC","crv":"P-999","x":"AA","y":"AA","kid":"x"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ok"}]}`, want: 1},
		{name: "encryption key skipped", body: `{"keys":[{"kty":"OKP","crv":"Ed25519","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseKeySet([]byte(tt.body))
			if (err != nil) != tt.wantErr || len(keys) != tt.want {
				t.Fatalf("parseKeySet: %d keys, err %v; want %d keys, error %v", len(keys), err, tt.want, tt.wantErr)
			}
		})
	}
}
