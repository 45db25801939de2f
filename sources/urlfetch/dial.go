package urlfetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// dialTimeout bounds one connection attempt, so a blackholed first address
// leaves time for the next; Config.Timeout bounds them all.
const dialTimeout = 10 * time.Second

// dialer connects the requests of one fetch, and is where the address is
// pinned. Checking a name and then letting net/http resolve it again would
// leave a window for DNS rebinding; instead dial resolves the name once,
// checks every answer, and connects to the checked IP literally, so nothing
// resolves after the check. net/http still sends the URL's Host header and
// TLS server name, since it only asked for a connection. The Control hook is
// the second line: it checks the address connect(2) gets, which is the only
// address that matters, whatever path led to it.
type dialer struct {
	f *Fetcher
	// hops counts the redirects followed, so refusals say "redirect".
	hops *atomic.Int32
}

func (d *dialer) redirect() bool { return d.hops.Load() > 0 }

// DialContext resolves, checks and connects; it is http.Transport's dialer.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := splitDialAddr(addr)
	if err != nil {
		return nil, err
	}
	ips, err := d.f.resolve(ctx, host, d.redirect())
	if err != nil {
		return nil, err
	}
	nd := &net.Dialer{Timeout: dialTimeout, ControlContext: d.control}
	var errs []error
	for _, ip := range ips {
		c, err := nd.DialContext(ctx, network, netip.AddrPortFrom(ip, port).String())
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrRefused) {
			return nil, err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("connecting to %s: %w", host, errors.Join(errs...))
}

// control re-checks the address the socket is about to connect to.
func (d *dialer) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Reason: "the connection address cannot be checked"}
	}
	if v := d.f.policy.judge(ap.Addr(), false); v.refused() {
		return &RefusedError{Reason: v.reason(false, d.redirect()), Addr: ap.Addr()}
	}
	return nil
}

// resolve returns the addresses host may be dialed at, or a *RefusedError.
// Every address must pass: a name that answers one public and one private
// address is refused rather than filtered, so the outcome never depends on
// which address a dial happens to try.
func (f *Fetcher) resolve(ctx context.Context, host string, redirect bool) ([]netip.Addr, error) {
	refuse := func(reason string, ip netip.Addr) error {
		if redirect {
			reason = "redirect: " + reason
		}
		return &RefusedError{Reason: reason, Addr: ip}
	}
	name, ip, reason := f.checkHost(host, strings.Contains(host, ":"))
	if reason != "" {
		return nil, refuse(reason, netip.Addr{})
	}
	if ip.IsValid() {
		if v := f.policy.judge(ip, true); v.refused() {
			return nil, &RefusedError{Reason: v.reason(true, redirect), Addr: ip}
		}
		return []netip.Addr{ip.Unmap()}, nil
	}
	ips, err := f.lookup(ctx, name)
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return nil, refuse("host does not resolve", netip.Addr{})
	case err != nil:
		return nil, fmt.Errorf("resolving %s: %w", name, err)
	case len(ips) == 0:
		return nil, refuse("host does not resolve", netip.Addr{})
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if v := f.policy.judge(ip, false); v.refused() {
			return nil, &RefusedError{Reason: v.reason(false, redirect), Addr: ip}
		}
		out = append(out, ip.WithZone("").Unmap())
	}
	return out, nil
}

// lookup resolves a name. A real lookup is made for the rooted name, so the
// resolver's search domains never turn "intranet" into an internal host.
func (f *Fetcher) lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	name = strings.TrimSuffix(name, ".")
	if f.lookupIP != nil {
		return f.lookupIP(ctx, name)
	}
	return f.resolver.LookupNetIP(ctx, "ip", name+".")
}
