package urlfetch

import (
	"fmt"
	"net/netip"
	"strings"
)

// policy is the operator's Allow and Deny lists, parsed.
//
// Deny always wins. Allow does two different things, by kind of entry:
//   - an Allow CIDR opens addresses the built-in ranges refuse, on purpose:
//     "10.20.0.0/16" lets the fetcher reach an internal document server. It
//     opens nothing else and restricts nothing.
//   - Allow host patterns, if there are any, restrict: every URL and every
//     redirect must then name a matching host, or be an IP literal inside an
//     Allow CIDR. A host pattern never opens a refused address: a name is
//     only as trustworthy as its DNS, so reaching a private address through
//     an allowed name needs an Allow CIDR for that address too.
type policy struct {
	allowHosts, denyHosts []hostPattern
	allowNets, denyNets   []netip.Prefix
}

// hostPattern is "example.com" (that host only) or "*.example.com" (any
// host below example.com, not example.com itself).
type hostPattern struct {
	name     string
	wildcard bool
}

func (p hostPattern) match(host string) bool {
	if p.wildcard {
		return strings.HasSuffix(host, "."+p.name)
	}
	return host == p.name
}

func newPolicy(allow, deny []string) (*policy, error) {
	p := new(policy)
	var err error
	if p.allowHosts, p.allowNets, err = parseList("allow", allow); err != nil {
		return nil, err
	}
	if p.denyHosts, p.denyNets, err = parseList("deny", deny); err != nil {
		return nil, err
	}
	return p, nil
}

// parseList splits a list into host patterns and prefixes. An entry that is
// neither is an error, never ignored: a typo must not silently open or close
// anything.
func parseList(list string, entries []string) ([]hostPattern, []netip.Prefix, error) {
	var hosts []hostPattern
	var nets []netip.Prefix
	for _, e := range entries {
		s := strings.ToLower(strings.TrimSpace(e))
		if pfx, err := netip.ParsePrefix(s); err == nil {
			if pfx.Addr().Zone() != "" || pfx != pfx.Masked() {
				return nil, nil, fmt.Errorf("%s entry %q: a CIDR must have no host bits set (did you mean %s?)", list, e, pfx.Masked())
			}
			nets = append(nets, netip.PrefixFrom(pfx.Addr().Unmap(), unmappedBits(pfx)))
			continue
		}
		if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
			ip = ip.Unmap()
			nets = append(nets, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		name, wildcard := strings.CutPrefix(s, "*.")
		name = strings.TrimSuffix(name, ".")
		if !validHostName(name) || endsInNumber(name) {
			return nil, nil, fmt.Errorf("%s entry %q is neither a host (example.com, *.example.com) nor an IP or CIDR", list, e)
		}
		hosts = append(hosts, hostPattern{name: name, wildcard: wildcard})
	}
	return hosts, nets, nil
}

// unmappedBits keeps an IPv4-mapped prefix meaningful once its address is
// unmapped: ::ffff:10.0.0.0/104 is 10.0.0.0/8.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

func matchHost(list []hostPattern, host string) bool {
	for _, p := range list {
		if p.match(host) {
			return true
		}
	}
	return false
}

// matchNet reports whether ip, or for deny the IPv4 address it embeds, is in
// list.
func matchNet(list []netip.Prefix, ip netip.Addr, embedded bool) bool {
	ip = ip.WithZone("").Unmap()
	e, hasE := embeddedV4(ip)
	for _, p := range list {
		if p.Contains(ip) || (embedded && hasE && p.Contains(e)) {
			return true
		}
	}
	return false
}

// hostRefusal judges a host name against the host lists, "" when allowed.
func (p *policy) hostRefusal(host string) string {
	switch {
	case matchHost(p.denyHosts, host):
		return "host is on the denylist"
	case len(p.allowHosts) > 0 && !matchHost(p.allowHosts, host):
		return "host is not on the allowlist"
	}
	return ""
}

// judge decides one address. literal says the URL named the address itself,
// which only an Allow CIDR admits once Allow host patterns restrict.
func (p *policy) judge(ip netip.Addr, literal bool) verdict {
	switch {
	case matchNet(p.denyNets, ip, true):
		return verdict{what: "an address on the denylist", addr: ip}
	case matchNet(p.allowNets, ip, false):
		return verdict{addr: ip}
	case literal && len(p.allowHosts) > 0:
		return verdict{what: "an address not on the allowlist", addr: ip}
	}
	return classify(ip)
}
