package auth

import (
	"net/netip"
	"testing"
)

func TestAnonymousTenant(t *testing.T) {
	tests := []struct {
		name, addr, want string
	}{
		{"ipv4", "203.0.113.7", "anon:203.0.113.7"},
		{"ipv4 mapped", "::ffff:203.0.113.7", "anon:203.0.113.7"},
		{"ipv6 grouped by /64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "anon:2001:db8:1:2::/64"},
		{"ipv6 loopback", "::1", "anon:::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AnonymousTenant(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Fatalf("AnonymousTenant(%s) = %s, want %s", tt.addr, got, tt.want)
			}
		})
	}
	a := AnonymousTenant(netip.MustParseAddr("2001:db8:1:2::1"))
	b := AnonymousTenant(netip.MustParseAddr("2001:db8:1:3::1"))
	if a == b {
		t.Fatal("two /64s share a tenant")
	}
}

func TestRateKey(t *testing.T) {
	tests := []struct {
		name string
		id   Identity
		want string
	}{
		{"anonymous", Identity{Kind: KindAnonymous, Tenant: "anon:1.2.3.4", Tier: "free"}, "free:anonymous:anon:1.2.3.4"},
		{"key", Identity{Kind: KindAPIKey, Tenant: "acme", Tier: "api_key", KeyID: "key_1"}, "api_key:api_key:key_1"},
		{"oauth", Identity{Kind: KindOAuth, Tenant: "acme", Tier: "oauth", Subject: "u1"}, "oauth:oauth:acme/u1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.RateKey(); got != tt.want {
				t.Fatalf("RateKey = %s, want %s", got, tt.want)
			}
		})
	}
}
