package oidc

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	valid := func(mod func(*Config)) Config {
		c := Config{Issuer: "https://idp.example", Audience: "api"}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "minimal", cfg: valid(nil)},
		{name: "loopback http issuer", cfg: valid(func(c *Config) { c.Issuer = "http://127.0.0.1:8080" })},
		{name: "localhost http jwks", cfg: valid(func(c *Config) { c.JWKSURL = "http://localhost:9000/keys" })},
		{name: "issuer with a path", cfg: valid(func(c *Config) { c.Issuer = "https://idp.example/realms/docstrange" })},
		{name: "missing issuer", cfg: valid(func(c *Config) { c.Issuer = "" }), wantErr: "issuer is required"},
		{name: "missing audience", cfg: valid(func(c *Config) { c.Audience = "" }), wantErr: "audience is required"},
		{name: "http issuer on the network", cfg: valid(func(c *Config) { c.Issuer = "http://idp.example" }), wantErr: "must use https"},
		{name: "relative issuer", cfg: valid(func(c *Config) { c.Issuer = "idp.example" }), wantErr: "absolute URL"},
		{name: "issuer with a query", cfg: valid(func(c *Config) { c.Issuer = "https://idp.example/?a=b" }), wantErr: "absolute URL"},
		{name: "unparsable jwks url", cfg: valid(func(c *Config) { c.JWKSURL = "https://idp.example/%zz" }), wantErr: "checking jwks_url"},
		{name: "ftp jwks url", cfg: valid(func(c *Config) { c.JWKSURL = "ftp://idp.example/keys" }), wantErr: "must use https"},
		{name: "alg none", cfg: valid(func(c *Config) { c.Algorithms = []string{"none"} }), wantErr: `signing algorithm "none" is not allowed`},
		{name: "alg HS256", cfg: valid(func(c *Config) { c.Algorithms = []string{"RS256", "HS256"} }), wantErr: `signing algorithm "HS256" is not allowed`},
		{name: "alg typo", cfg: valid(func(c *Config) { c.Algorithms = []string{"RS265"} }), wantErr: `signing algorithm "RS265" is not allowed`},
		{name: "default tier not allowed", cfg: valid(func(c *Config) { c.AllowedTiers = []string{"enterprise"} }), wantErr: `default tier "oauth"`},
		{name: "empty allowed tier", cfg: valid(func(c *Config) { c.AllowedTiers = []string{"oauth", ""} }), wantErr: "empty tier"},
		{name: "negative leeway", cfg: valid(func(c *Config) { c.Leeway = -time.Second }), wantErr: "leeway"},
		{name: "negative refresh interval", cfg: valid(func(c *Config) { c.MinRefreshInterval = -time.Second }), wantErr: "min_refresh_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{Issuer: "https://idp.example", Audience: "api"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TenantClaim != "sub" || cfg.TierClaim != "docstrange_tier" || cfg.DefaultTier != "oauth" {
		t.Errorf("claims defaults: %q %q %q", cfg.TenantClaim, cfg.TierClaim, cfg.DefaultTier)
	}
	if !slices.Equal(cfg.AllowedTiers, []string{"oauth", "enterprise"}) {
		t.Errorf("allowed tiers %q", cfg.AllowedTiers)
	}
	if !slices.Equal(cfg.Algorithms, []string{"RS256", "ES256", "PS256", "EdDSA"}) {
		t.Errorf("algorithms %q", cfg.Algorithms)
	}
	if cfg.Leeway != 30*time.Second || cfg.MinRefreshInterval != 10*time.Second {
		t.Errorf("leeway %v, refresh %v", cfg.Leeway, cfg.MinRefreshInterval)
	}
	if cfg.HTTPClient == nil || cfg.HTTPClient == http.DefaultClient || cfg.HTTPClient.Timeout != 5*time.Second {
		t.Errorf("http client %+v", cfg.HTTPClient)
	}
	if cfg.Logger == nil || cfg.Now == nil {
		t.Error("logger or clock not set")
	}
}
