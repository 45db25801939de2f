package urlfetch

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// testDNS answers the names the tests use, without DNS.
var testDNS = map[string][]string{
	"evil.test":         {"127.0.0.1"},
	"meta.test":         {"169.254.169.254"},
	"internal.test":     {"127.0.0.2"},
	"mixed.test":        {"8.8.8.8", "10.0.0.1"},
	"v6loop.test":       {"::1"},
	"docs.test":         {"127.0.0.1"},
	"docs.example.test": {"127.0.0.1"},
	"good.example.test": {"127.0.0.1"},
	"bad.example.test":  {"127.0.0.1"},
	"other.test":        {"127.0.0.1"},
	"example.com":       {"127.0.0.1"},
}

// lookupFrom resolves names from m; others do not exist.
func lookupFrom(m map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ss, ok := m[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		out := make([]netip.Addr, len(ss))
		for i, s := range ss {
			out[i] = netip.MustParseAddr(s)
		}
		return out, nil
	}
}

// newFetcher builds a Fetcher on testDNS with a 1 MiB cap unless cfg says.
func newFetcher(t *testing.T, cfg Config) *Fetcher {
	t.Helper()
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 1 << 20
	}
	if cfg.LookupIP == nil {
		cfg.LookupIP = lookupFrom(testDNS)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// serve starts h on 127.0.0.1, stopped at cleanup.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// victim is a server that must never be reached; hits counts requests.
func victim(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	hits := new(atomic.Int32)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("secret"))
	}))
	return srv, hits
}

// port is the port of srv.
func port(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

// wantRefused asserts err is a refusal whose Reason contains want.
func wantRefused(t *testing.T, err error, want string) *RefusedError {
	t.Helper()
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("err = %T, want *RefusedError", err)
	}
	if !strings.Contains(re.Reason, want) {
		t.Fatalf("Reason = %q, want it to contain %q", re.Reason, want)
	}
	if re.URL == "" {
		t.Errorf("RefusedError.URL is empty (err %v)", err)
	}
	return re
}

// contextWithCancel is a cancelable child of the test's context.
func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}
