package urlfetch

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSSRF is the SSRF table: every URL here must be refused by Check and
// by Fetch, with a useful reason, and the loopback victim never reached.
func TestSSRF(t *testing.T) {
	srv, hits := victim(t)
	p := port(srv)
	tests := []struct {
		name, url, reason string
	}{
		{"loopback v4", "http://127.0.0.1:" + p + "/", "host is a loopback address (127.0.0.1)"},
		{"loopback v6", "http://[::1]:" + p + "/", "host is a loopback address (::1)"},
		{"rfc1918 10/8", "http://10.0.0.1/", "host is a private address (10.0.0.1)"},
		{"rfc1918 172.16/12", "http://172.16.0.1/", "host is a private address (172.16.0.1)"},
		{"rfc1918 192.168/16", "http://192.168.1.1/", "host is a private address (192.168.1.1)"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/", "host is a link-local address (169.254.169.254)"},
		{"cgnat", "http://100.64.0.1/", "host is a shared (CGNAT) address"},
		{"benchmarking", "http://198.18.0.1/", "host is a benchmarking address"},
		{"unspecified v4", "http://0.0.0.0:" + p + "/", "host is an unspecified address (0.0.0.0)"},
		{"this network", "http://0.1.2.3/", "host is a reserved address"},
		{"reserved 240/4", "http://240.0.0.1/", "host is a reserved address"},
		{"broadcast", "http://255.255.255.255/", "host is a broadcast address"},
		{"multicast v4", "http://224.0.0.1/", "host is a multicast address"},
		{"documentation v4", "http://192.0.2.1/", "host is a documentation address"},
		{"unspecified v6", "http://[::]:" + p + "/", "host is an unspecified address (::)"},
		{"link-local v6", "http://[fe80::1]/", "host is a link-local address (fe80::1)"},
		{"zone v6", "http://[fe80::1%25eth0]/", "IPv6 zone identifiers are not allowed"},
		{"unique local v6", "http://[fc00::1]/", "host is a private (unique local) address (fc00::1)"},
		{"multicast v6", "http://[ff02::1]/", "host is a multicast address"},
		{"ipv4-mapped loopback", "http://[::ffff:127.0.0.1]:" + p + "/", "host is a loopback address (::ffff:127.0.0.1, which embeds 127.0.0.1)"},
		{"ipv4-mapped hex form", "http://[::ffff:7f00:1]:" + p + "/", "host is a loopback address (::ffff:127.0.0.1, which embeds 127.0.0.1)"},
		{"ipv4-mapped private", "http://[::ffff:10.0.0.1]/", "host is a private address (::ffff:10.0.0.1, which embeds 10.0.0.1)"},
		{"ipv4-compatible loopback", "http://[::127.0.0.1]/", "host is a loopback address (::7f00:1, which embeds 127.0.0.1)"},
		{"nat64 loopback", "http://[64:ff9b::7f00:1]/", "host is a loopback address (64:ff9b::7f00:1, which embeds 127.0.0.1)"},
		{"nat64 metadata", "http://[64:ff9b::a9fe:a9fe]/", "host is a link-local address (64:ff9b::a9fe:a9fe, which embeds 169.254.169.254)"},
		{"6to4 loopback", "http://[2002:7f00:1::]/", "host is a loopback address (2002:7f00:1::, which embeds 127.0.0.1)"},
		{"6to4 private", "http://[2002:c0a8:101::1]/", "host is a private address (2002:c0a8:101::1, which embeds 192.168.1.1)"},
		{"teredo", "http://[2001::1]/", "host is a Teredo address"},
		{"name to loopback", "http://evil.test:" + p + "/", "host resolves to a loopback address"},
		{"name to v6 loopback", "http://v6loop.test:" + p + "/", "host resolves to a loopback address"},
		{"name to metadata", "http://meta.test/", "host resolves to a link-local address"},
		{"name with one private answer", "http://mixed.test/", "host resolves to a private address"},
		{"name that does not resolve", "http://nx.test/", "host does not resolve"},
		{"decimal", "http://2130706433:" + p + "/", "host 2130706433 is a non-canonical numeric address"},
		{"octal", "http://0177.0.0.1:" + p + "/", "host 0177.0.0.1 is a non-canonical numeric address"},
		{"hex", "http://0x7f000001:" + p + "/", "host 0x7f000001 is a non-canonical numeric address"},
		{"hex dotted", "http://0x7f.1:" + p + "/", "non-canonical numeric address"},
		{"short", "http://127.1:" + p + "/", "host 127.1 is a non-canonical numeric address"},
		{"trailing dot", "http://127.0.0.1.:" + p + "/", "non-canonical numeric address"},
		{"full-width digits", "http://１２７.０.０.１:" + p + "/", "host is a loopback address (127.0.0.1)"},
		{"ftp", "ftp://example.com/doc.pdf", "scheme ftp is not allowed"},
		{"file", "file:///etc/passwd", "scheme file is not allowed"},
		{"gopher", "gopher://127.0.0.1:" + p + "/", "scheme gopher is not allowed"},
		{"no scheme", "//example.com/doc.pdf", "the URL has no scheme"},
		{"opaque", "http:example.com", "not an absolute http(s) URL"},
		{"userinfo", "http://user:pw@example.com/doc.pdf", "credentials"},
		{"userinfo name only", "http://user@example.com/doc.pdf", "credentials"},
		{"port zero", "http://example.com:0/", "port 0 is not valid"},
		{"port too big", "http://example.com:99999/", "port 99999 is not valid"},
		{"percent-encoded host", "http://%31%32%37.0.0.1/", "not a valid URL"},
		{"bad host name", "http://exa$mple.com/", "not a valid"},
	}
	f := newFetcher(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			wantRefused(t, f.Check(ctx, tt.url), tt.reason)
			var buf bytes.Buffer
			_, err := f.Fetch(ctx, tt.url, &buf)
			re := wantRefused(t, err, tt.reason)
			if buf.Len() > 0 {
				t.Errorf("wrote %d bytes for a refused URL", buf.Len())
			}
			if strings.Contains(re.URL, "pw@") {
				t.Errorf("RefusedError.URL %q carries the password", re.URL)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback victim was reached %d times", n)
	}
}

// TestRedirects follows a public origin (the test server, opened by an
// Allow CIDR for 127.0.0.1 only) into targets that must be refused.
func TestRedirects(t *testing.T) {
	internal := listenInternal(t)
	origin := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/to":
			http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			http.Redirect(w, r, r.URL.Path+"x", http.StatusMovedPermanently)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	to := func(u string) string { return origin.URL + "/to?u=" + url.QueryEscape(u) }
	tests := []struct {
		name, url, reason string
		maxRedirects      int
	}{
		// Refused by the checks every redirect target gets.
		{name: "to a private literal", url: to("http://10.0.0.1/"), reason: "redirect: host is a private address (10.0.0.1)"},
		{name: "to a mapped metadata literal", url: to("http://[::ffff:169.254.169.254]/"), reason: "redirect: host is a link-local address"},
		{name: "to another loopback address", url: to("http://127.0.0.2:" + internal.port + "/"), reason: "redirect: host is a loopback address (127.0.0.2)"},
		{name: "to a numeric form", url: to("http://0x7f.1/"), reason: "redirect: host 0x7f.1 is a non-canonical numeric address"},
		{name: "to ftp", url: to("ftp://example.com/doc.pdf"), reason: "redirect: scheme ftp is not allowed"},
		{name: "to file", url: to("file:///etc/passwd"), reason: "redirect: scheme file is not allowed"},
		{name: "to userinfo", url: to("http://u:pw@example.com/"), reason: "redirect: URLs with credentials"},
		// Refused at the dial: only resolving the name shows where it goes.
		{name: "to a name for loopback", url: to("http://internal.test:" + internal.port + "/"), reason: "redirect: host resolves to a loopback address"},
		{name: "to a name for metadata", url: to("http://meta.test/latest/meta-data/"), reason: "redirect: host resolves to a link-local address"},
		{name: "to a name that does not resolve", url: to("http://nx.test/"), reason: "redirect: host does not resolve"},
		// Limits.
		{name: "too many redirects", url: origin.URL + "/loop/", reason: "too many redirects (more than 5)"},
		{name: "too many for a lower cap", url: origin.URL + "/loop/", reason: "too many redirects (more than 2)", maxRedirects: 2},
		{name: "no redirects at all", url: to(origin.URL + "/doc"), reason: "too many redirects (more than 0)", maxRedirects: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFetcher(t, Config{Allow: []string{"127.0.0.1/32"}, MaxRedirects: tt.maxRedirects})
			var buf bytes.Buffer
			_, err := f.Fetch(t.Context(), tt.url, &buf)
			re := wantRefused(t, err, tt.reason)
			if strings.Contains(re.URL, "pw@") {
				t.Errorf("RefusedError.URL %q carries the password", re.URL)
			}
			if buf.Len() > 0 {
				t.Errorf("wrote %q for a refused redirect", buf.String())
			}
		})
	}
	if n := internal.hits.Load(); n != 0 {
		t.Fatalf("the internal server on 127.0.0.2 was reached %d times", n)
	}
}

// TestRebinding: the name answers a public address to Check and loopback to
// the fetch's dial. The dial must check its own answer, not trust Check's.
func TestRebinding(t *testing.T) {
	srv, hits := victim(t)
	lookups := new(atomic.Int32)
	f := newFetcher(t, Config{LookupIP: func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "rebind.test" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		if lookups.Add(1) == 1 {
			return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}})
	u := "http://rebind.test:" + port(srv) + "/"
	if err := f.Check(t.Context(), u); err != nil {
		t.Fatalf("Check with the public answer: %v", err)
	}
	var buf bytes.Buffer
	_, err := f.Fetch(t.Context(), u, &buf)
	re := wantRefused(t, err, "host resolves to a loopback address")
	if re.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("Addr = %v, want 127.0.0.1 for the logs", re.Addr)
	}
	if strings.Contains(re.Reason, "127.0.0.1") {
		t.Errorf("Reason %q shows what a name resolves to", re.Reason)
	}
	if n := lookups.Load(); n != 2 {
		t.Errorf("lookups = %d, want 2 (one for Check, one for the dial)", n)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the victim was reached %d times", n)
	}
}

// TestControlRefuses checks the last line on its own: whatever address a
// socket is about to connect to is judged again.
func TestControlRefuses(t *testing.T) {
	f := newFetcher(t, Config{Allow: []string{"10.9.0.0/16"}, Deny: []string{"8.8.4.4"}})
	tests := []struct {
		name, addr, reason string
		hop                int32
	}{
		{name: "loopback", addr: "127.0.0.1:80", reason: "host resolves to a loopback address"},
		{name: "v6 loopback", addr: "[::1]:443", reason: "host resolves to a loopback address"},
		{name: "metadata after a redirect", addr: "169.254.169.254:80", reason: "redirect: host resolves to a link-local address", hop: 1},
		{name: "mapped private", addr: "[::ffff:10.0.0.1]:80", reason: "host resolves to a private address"},
		{name: "denied public", addr: "8.8.4.4:53", reason: "an address on the denylist"},
		{name: "public", addr: "8.8.8.8:80"},
		{name: "allowed private", addr: "10.9.1.2:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dialer{f: f, hops: new(atomic.Int32)}
			d.hops.Store(tt.hop)
			err := d.control(t.Context(), "tcp", tt.addr, nil)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("control(%s) = %v, want nil", tt.addr, err)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, tt.reason) {
				t.Fatalf("control(%s) = %v, want a refusal with %q", tt.addr, err, tt.reason)
			}
		})
	}
}

// internalServer listens on 127.0.0.2, a loopback address the Allow CIDR
// 127.0.0.1/32 does not open.
type internalServer struct {
	port string
	hits *atomic.Int32
}

func listenInternal(t *testing.T) internalServer {
	t.Helper()
	s := internalServer{port: "8080", hits: new(atomic.Int32)}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Logf("cannot listen on 127.0.0.2 (%v); the refusals are still checked", err)
		return s
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		_, _ = w.Write([]byte("internal"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, s.port, _ = net.SplitHostPort(ln.Addr().String())
	return s
}
