package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHTTPSAndSecurityHeaders: the API is also served over HTTPS with a
// certificate from Caddy's internal CA, HSTS only comes over TLS, and the
// security headers come on both.
func TestHTTPSAndSecurityHeaders(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WORKERS=-1")
	root, err := os.ReadFile(filepath.Join(s.dataDir, "caddy", "pki", "authorities", "local", "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		t.Fatal("internal CA root is not PEM")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	// Caddy issues the site certificate in the background at start; on a
	// loaded machine the first handshakes may come before it.
	var resp *http.Response
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err = client.Get(s.https + "/api/v1/health/live")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("HTTPS with the internal CA: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=63072000; includeSubDomains" {
		t.Fatalf("HTTPS answer: %d %v", resp.StatusCode, resp.Header)
	}
	r := s.get("/api/v1/health/live")
	if r.header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS sent over plain HTTP")
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy"} {
		if r.header.Get(h) == "" || resp.Header.Get(h) == "" {
			t.Errorf("%s missing", h)
		}
	}
	if r.header.Get("Server") != "" {
		t.Errorf("Server header leaks %q", r.header.Get("Server"))
	}
	// Errors carry them too.
	if e := s.get("/nope"); e.header.Get("X-Content-Type-Options") != "nosniff" || e.status != 404 {
		t.Errorf("error answer headers: %d %v", e.status, e.header)
	}
}
