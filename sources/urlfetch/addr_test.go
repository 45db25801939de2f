package urlfetch

import (
	"net/netip"
	"testing"
)

// TestClassify judges addresses against the built-in ranges alone; public
// addresses, including public IPv4 inside NAT64, 6to4 and mapped forms, pass.
func TestClassify(t *testing.T) {
	tests := []struct {
		name, ip, what, via string // what "" means reachable
	}{
		{name: "public v4", ip: "8.8.8.8"},
		{name: "public v4 next to 172.16/12", ip: "172.32.0.1"},
		{name: "public v4 next to 100.64/10", ip: "100.128.0.1"},
		{name: "public v6", ip: "2606:4700:4700::1111"},
		{name: "mapped public", ip: "::ffff:8.8.8.8"},
		{name: "nat64 public", ip: "64:ff9b::808:808"},
		{name: "6to4 public", ip: "2002:808:808::1"},
		{name: "loopback /8", ip: "127.255.255.254", what: "a loopback address"},
		{name: "private 172.31", ip: "172.31.255.255", what: "a private address"},
		{name: "cgnat top", ip: "100.127.255.255", what: "a shared (CGNAT) address"},
		{name: "benchmarking 198.19", ip: "198.19.0.1", what: "a benchmarking address"},
		{name: "protocol assignments", ip: "192.0.0.170", what: "a reserved address"},
		{name: "6to4 relay anycast", ip: "192.88.99.1", what: "a reserved address"},
		{name: "mapped loopback", ip: "::ffff:127.0.0.1", what: "a loopback address", via: "127.0.0.1"},
		{name: "compatible private", ip: "::10.0.0.1", what: "a private address", via: "10.0.0.1"},
		{name: "compatible public", ip: "::8.8.8.8", what: "a reserved address"},
		{name: "nat64 cgnat", ip: "64:ff9b::6440:1", what: "a shared (CGNAT) address", via: "100.64.0.1"},
		{name: "nat64 local-use", ip: "64:ff9b:1::808:808", what: "a reserved address"},
		{name: "6to4 link-local", ip: "2002:a9fe:a9fe::", what: "a link-local address", via: "169.254.169.254"},
		{name: "discard-only", ip: "100::1", what: "a reserved address"},
		{name: "site-local", ip: "fec0::1", what: "a site-local address"},
		{name: "unique local fd", ip: "fd12:3456::1", what: "a private (unique local) address"},
		{name: "documentation v6", ip: "2001:db8::1", what: "a documentation address"},
		{name: "documentation 3fff", ip: "3fff::1", what: "a documentation address"},
		{name: "benchmarking v6", ip: "2001:2::1", what: "a benchmarking address"},
		{name: "link-local with zone", ip: "fe80::1%eth0", what: "a link-local address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := classify(netip.MustParseAddr(tt.ip))
			if v.what != tt.what {
				t.Fatalf("classify(%s) = %q, want %q", tt.ip, v.what, tt.what)
			}
			if tt.via != "" && v.via != netip.MustParseAddr(tt.via) {
				t.Fatalf("classify(%s) via %v, want %s", tt.ip, v.via, tt.via)
			}
		})
	}
}
