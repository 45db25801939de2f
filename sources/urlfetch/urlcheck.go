package urlfetch

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// maxURLLen bounds a submitted URL; real document links are far shorter.
const maxURLLen = 8 << 10

// target is a URL that passed the static checks.
type target struct {
	url *url.URL
	// host is the ASCII, lower-case host without brackets or trailing dot.
	host string
	// ip is the host when the URL names an address literally.
	ip netip.Addr
}

// checkRaw parses a submitted URL and runs the static checks on it.
func (f *Fetcher) checkRaw(raw string) (*target, error) {
	if len(raw) > maxURLLen {
		return nil, &RefusedError{URL: strings.ToValidUTF8(raw[:64], "") + "…", Reason: fmt.Sprintf("the URL is longer than %d bytes", maxURLLen)}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &RefusedError{URL: raw, Reason: "not a valid URL"}
	}
	t, err := f.checkURL(u, false)
	if err != nil {
		return nil, err
	}
	// Fetch what was checked: the host in the form the checks saw.
	v := *u
	v.Host = t.host
	if t.ip.Is6() {
		v.Host = "[" + t.host + "]"
	}
	if p := u.Port(); p != "" {
		v.Host += ":" + p
	}
	t.url = &v
	return t, nil
}

// checkURL runs the checks that need no DNS: scheme, credentials, host
// syntax, the host lists, and the address policy for an IP literal. It runs
// on the submitted URL and on every redirect target.
func (f *Fetcher) checkURL(u *url.URL, redirect bool) (*target, error) {
	refuse := func(format string, args ...any) error {
		reason := fmt.Sprintf(format, args...)
		if redirect {
			reason = "redirect: " + reason
		}
		return &RefusedError{URL: u.Redacted(), Reason: reason}
	}
	switch {
	case u.Scheme == "":
		return nil, refuse("the URL has no scheme; use http or https")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, refuse("scheme %s is not allowed; use http or https", u.Scheme)
	case u.Opaque != "":
		return nil, refuse("not an absolute http(s) URL")
	case u.User != nil:
		// Credentials would be sent to whoever the host turns out to be,
		// and logged with the URL.
		return nil, refuse("URLs with credentials (user:password@) are not allowed")
	case u.Host == "":
		return nil, refuse("the URL has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, refuse("port %s is not valid", p)
		}
	}
	host, ip, reason := f.checkHost(u.Hostname(), strings.HasPrefix(u.Host, "["))
	if reason != "" {
		return nil, refuse("%s", reason)
	}
	if ip.IsValid() {
		if v := f.policy.judge(ip, true); v.refused() {
			return nil, &RefusedError{URL: u.Redacted(), Reason: v.reason(true, redirect), Addr: ip}
		}
	}
	return &target{url: u, host: host, ip: ip}, nil
}

// checkHost normalizes a host (as net/http will dial it: IDNA to ASCII),
// checks its syntax and, for a name, the host lists. It returns the
// normalized host, the address when the host is a literal, and a reason when
// refused. It runs at the dial too, on what the transport actually dials.
func (f *Fetcher) checkHost(host string, bracketed bool) (string, netip.Addr, string) {
	if bracketed {
		ip, err := netip.ParseAddr(host)
		switch {
		case err != nil || !ip.Is6():
			return "", netip.Addr{}, "host is not a valid IPv6 address"
		case ip.Zone() != "":
			return "", netip.Addr{}, "IPv6 zone identifiers are not allowed"
		}
		return ip.String(), ip, ""
	}
	if !isASCII(host) {
		// The profile net/http dials with, so a deny entry for example.com
		// also catches its full-width spelling.
		a, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return "", netip.Addr{}, "host is not a valid internationalized domain name"
		}
		host = a
	}
	host = strings.ToLower(host)
	name := strings.TrimSuffix(host, ".")
	if endsInNumber(name) {
		// The WHATWG URL parser and C's inet_aton read 2130706433, 0177.0.0.1,
		// 0x7f.1 and 127.1 as IPv4 addresses, and Go's cgo resolver hands them
		// to getaddrinfo, which does too. Only four decimal octets are read
		// the same by everyone, so nothing else numeric is accepted.
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is4() {
			return "", netip.Addr{}, fmt.Sprintf("host %s is a non-canonical numeric address; write an IPv4 address as four decimal octets", host)
		}
		return host, ip, ""
	}
	if !validHostName(name) {
		return "", netip.Addr{}, "host is not a valid host name"
	}
	if r := f.policy.hostRefusal(name); r != "" {
		return "", netip.Addr{}, r
	}
	return host, netip.Addr{}, ""
}

// endsInNumber is the WHATWG URL "ends in a number" test: a host whose last
// label is decimal digits or 0x-hex is an IPv4 address to every browser.
func endsInNumber(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" {
		return false
	}
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// validHostName accepts DNS names of letters, digits, '-' and '_' (which
// some real hosts carry), within DNS's length limits.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// splitDialAddr splits what the transport dials into host and port.
func splitDialAddr(addr string) (string, uint16, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("splitting dial address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("parsing port of %q: %w", addr, err)
	}
	return host, uint16(port), nil
}
