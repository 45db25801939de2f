// Package caddyharness runs a Caddy in process for a module's server tests,
// through caddytest, adapted from a Caddyfile: the global options every
// such test needs (its own admin, HTTP and HTTPS ports, so that packages
// testing side by side do not collide; no trust store; no saved config; a
// short grace period) plus the test's own, and one site on the HTTP port.
package caddyharness

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/docstrange/mesh/internal/proctest"
)

// loadTimeout bounds loading the config: provisioning the docstrange app
// (its stores, the PDF engine) takes seconds on a loaded machine.
const loadTimeout = time.Minute

// Start loads a Caddy whose global options are the harness's plus globals
// (Caddyfile lines, may be empty) and whose one site, http://localhost on a
// free port, holds site. It returns the tester, whose Client reaches the
// site, and the site's base URL. caddytest stops the server when the test
// ends.
func Start(t *testing.T, globals, site string) (*caddytest.Tester, string) {
	t.Helper()
	ports := proctest.FreePorts(t, 3)
	admin, http, https := ports[0], ports[1], ports[2]
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: admin, LoadRequestTimeout: loadTimeout})
	tester.InitServer(fmt.Sprintf(`
	{
		skip_install_trust
		admin localhost:%d
		http_port %d
		https_port %d
		grace_period 1ns
		persist_config off
		%s
	}
	http://localhost:%d {
		%s
	}
	`, admin, http, https, globals, http, site), "caddyfile")
	return tester, fmt.Sprintf("http://localhost:%d", http)
}

// Do sends one request with the headers and body through client and
// returns the answer with its body read; a failed round trip fails the
// test.
func Do(t *testing.T, client *http.Client, method, url string, headers map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer to %s %s: %v", method, url, err)
	}
	return resp, b
}
