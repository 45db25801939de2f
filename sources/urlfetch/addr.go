package urlfetch

import (
	"net/netip"
)

// special is a range no fetch reaches unless an Allow CIDR opens it. What is
// the phrase a Reason uses for it.
type special struct {
	prefix netip.Prefix
	what   string
}

func mustPrefixes(what string, cidrs ...string) []special {
	out := make([]special, len(cidrs))
	for i, c := range cidrs {
		out[i] = special{netip.MustParsePrefix(c), what}
	}
	return out
}

// specialV4 lists IPv4 ranges that are not the public internet (RFC 6890 and
// the IANA special-purpose registry). It is read-only. Order matters: the
// first match names the range, so narrower ranges come first.
var specialV4 = concat(
	mustPrefixes("an unspecified address", "0.0.0.0/32"),
	mustPrefixes("a broadcast address", "255.255.255.255/32"),
	mustPrefixes("a loopback address", "127.0.0.0/8"),
	mustPrefixes("a private address", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
	mustPrefixes("a link-local address", "169.254.0.0/16"),
	mustPrefixes("a shared (CGNAT) address", "100.64.0.0/10"),
	mustPrefixes("a benchmarking address", "198.18.0.0/15"),
	mustPrefixes("a documentation address", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"),
	mustPrefixes("a multicast address", "224.0.0.0/4"),
	// 0/8 is "this network"; 192.0.0.0/24 holds protocol assignments
	// (DS-Lite, NAT64 discovery); 192.88.99.0/24 is the retired 6to4 relay
	// anycast; 240/4 is reserved for future use.
	mustPrefixes("a reserved address", "0.0.0.0/8", "192.0.0.0/24", "192.88.99.0/24", "240.0.0.0/4"),
)

// specialV6 lists IPv6 ranges inside or beside global unicast that are not
// the public internet. Anything outside 2000::/3 is refused as reserved
// anyway, except NAT64 whose embedded IPv4 address decides. Read-only.
var specialV6 = concat(
	mustPrefixes("an unspecified address", "::/128"),
	mustPrefixes("a loopback address", "::1/128"),
	mustPrefixes("a private (unique local) address", "fc00::/7"),
	mustPrefixes("a link-local address", "fe80::/10"),
	mustPrefixes("a site-local address", "fec0::/10"),
	mustPrefixes("a multicast address", "ff00::/8"),
	mustPrefixes("a benchmarking address", "2001:2::/48"),
	mustPrefixes("a documentation address", "2001:db8::/32", "3fff::/20"),
	// Teredo tunnels to an IPv4 address we cannot check; ORCHID is not
	// routable.
	mustPrefixes("a Teredo address", "2001::/32"),
	mustPrefixes("a reserved address", "2001:10::/28", "2001:20::/28"),
)

// Ranges whose IPv6 addresses carry an IPv4 address that decides where a
// packet really goes.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052, last 32 bits
	sixToFour  = netip.MustParsePrefix("2002::/16")    // RFC 3056, bits 16-47
	v4Compat   = netip.MustParsePrefix("::/96")        // RFC 4291 (deprecated), last 32 bits
	globalV6   = netip.MustParsePrefix("2000::/3")
	reservedV6 = "a reserved address"
)

func concat(lists ...[]special) []special {
	var out []special
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// embeddedV4 returns the IPv4 address that an IPv4-mapped, IPv4-compatible,
// NAT64 or 6to4 IPv6 address carries.
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case ip.Is4In6():
		return ip.Unmap(), true
	case nat64.Contains(ip), v4Compat.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// verdict is why an address may not be reached; the zero verdict lets it.
type verdict struct {
	// what names the range ("a loopback address"), "" when allowed.
	what string
	// addr is the address judged.
	addr netip.Addr
	// via is the embedded IPv4 address that decided, when one did.
	via netip.Addr
}

func (v verdict) refused() bool { return v.what != "" }

// addrText shows the address and, when it decided, the IPv4 address inside.
func (v verdict) addrText() string {
	if v.via.IsValid() && v.via != v.addr {
		return v.addr.String() + ", which embeds " + v.via.String()
	}
	return v.addr.String()
}

// reason words the verdict for the client. For a literal the address is the
// client's own input and is shown; for a name it is what our DNS says and is
// not (it would map internal names for anyone who asks).
func (v verdict) reason(literal, redirect bool) string {
	var s string
	if literal {
		s = "host is " + v.what + " (" + v.addrText() + ")"
	} else {
		s = "host resolves to " + v.what
	}
	if redirect {
		s = "redirect: " + s
	}
	return s
}

// classify judges ip against the built-in special ranges, ignoring lists.
func classify(ip netip.Addr) verdict {
	v := verdict{addr: ip}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
		v.via = ip
	}
	if ip.Is4() {
		v.what = lookupSpecial(specialV4, ip)
		if v.what == "" {
			v.via = netip.Addr{}
		}
		return v
	}
	// :: and ::1 sit inside ::/96 but are IPv6 addresses of their own.
	if w := lookupSpecial(specialV6[:2], ip); w != "" {
		v.what = w
		return v
	}
	if e, ok := embeddedV4(ip); ok {
		if w := lookupSpecial(specialV4, e); w != "" {
			v.what, v.via = w, e
			return v
		}
	}
	if w := lookupSpecial(specialV6, ip); w != "" {
		v.what = w
		return v
	}
	if !globalV6.Contains(ip) && !nat64.Contains(ip) {
		v.what = reservedV6
	}
	return v
}

func lookupSpecial(list []special, ip netip.Addr) string {
	for _, s := range list {
		if s.prefix.Contains(ip) {
			return s.what
		}
	}
	return ""
}
