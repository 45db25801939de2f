package ratelimit_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/docstrange/mesh/api"
	_ "github.com/docstrange/mesh/caddy-modules/all"
	"github.com/docstrange/mesh/internal/caddyharness"
	"github.com/docstrange/mesh/policy"
)

// freeRate is the free tier's request budget in this test.
const freeRate = 6

// tiersFile writes the built-in tier data with a small free-tier rate.
func tiersFile(t *testing.T) string {
	t.Helper()
	raw, err := policy.FS.ReadFile(policy.TiersFile)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	data["free"]["rate"] = map[string]any{"requests": freeRate, "period_seconds": 60}
	raw, _ = json.Marshal(data)
	path := filepath.Join(t.TempDir(), "tiers.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestChain runs the request id, authn, authz, ratelimit and job handlers
// in a real Caddy, adapted from a Caddyfile, as the edge orders them.
func TestChain(t *testing.T) {
	tester, base := caddyharness.Start(t, fmt.Sprintf(`
		docstrange {
			data_dir %q
			workers -1
			auth {
				tiers_file %q
			}
		}
		servers {
			trusted_proxies static 10.0.0.0/8
		}`, t.TempDir(), tiersFile(t)), `
		route {
			docstrange_errors
			request_id
			docstrange_authn
			docstrange_authz
			docstrange_ratelimit
			docstrange_jobs
			error "no route for {method} {path}" 404
		}
		handle_errors {
			docstrange_errors
		}`)

	do := func(t *testing.T, method, path string, headers map[string]string, body []byte) (*http.Response, []byte) {
		t.Helper()
		return caddyharness.Do(t, tester.Client, method, base+path, headers, body)
	}
	errCode := func(t *testing.T, b []byte) string {
		t.Helper()
		var env api.Envelope
		if err := json.Unmarshal(b, &env); err != nil || env.Error == nil {
			t.Fatalf("not an error envelope: %s", b)
		}
		return env.Error.Code
	}

	// Refusals before the rate limiter do not spend the budget.
	refusals := []struct {
		name     string
		method   string
		path     string
		headers  map[string]string
		status   int
		code     string
		wantAuth bool // a WWW-Authenticate challenge
	}{
		{"basic auth", http.MethodGet, "/api/v1/me", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, http.StatusUnauthorized, api.CodeUnauthenticated, true},
		{"unknown key", http.MethodGet, "/api/v1/me", map[string]string{"X-API-Key": "dsk_abc_def"}, http.StatusUnauthorized, api.CodeUnauthenticated, true},
		{"jwt without an issuer configured", http.MethodGet, "/api/v1/me", map[string]string{"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}, http.StatusUnauthorized, api.CodeUnauthenticated, true},
		{"two different credentials", http.MethodGet, "/api/v1/me", map[string]string{"Authorization": "Bearer dsk_a_b", "X-API-Key": "dsk_c_d"}, http.StatusUnauthorized, api.CodeUnauthenticated, true},
		{"unknown route", http.MethodGet, "/api/v1/nope", nil, http.StatusNotFound, api.CodeNotFound, false},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := do(t, tt.method, tt.path, tt.headers, nil)
			if resp.StatusCode != tt.status || errCode(t, b) != tt.code {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tt.status, tt.code)
			}
			if got := resp.Header.Get("WWW-Authenticate") != ""; got != tt.wantAuth {
				t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
			if resp.Header.Get("RateLimit-Limit") != "" {
				t.Fatal("a refused request was counted against the rate")
			}
		})
	}

	t.Run("a spoofed X-Forwarded-For does not change the tenant", func(t *testing.T) {
		resp, b := do(t, http.MethodGet, "/api/v1/me", map[string]string{"X-Forwarded-For": "203.0.113.9"}, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var me struct {
			Identity struct{ Kind, Tenant, Tier string }
		}
		json.Unmarshal(b, &me)
		if me.Identity.Tenant != "anon:127.0.0.1" || me.Identity.Tier != "free" || me.Identity.Kind != "anonymous" {
			t.Fatalf("identity %+v", me.Identity)
		}
		if resp.Header.Get("RateLimit-Limit") != strconv.Itoa(freeRate) || resp.Header.Get("RateLimit-Remaining") != strconv.Itoa(freeRate-1) {
			t.Fatalf("RateLimit headers %v", resp.Header)
		}
	})

	t.Run("the policy refuses a feature the tier lacks", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("device", "gpu")
		fw, _ := mw.CreateFormFile("file", "a.txt")
		fw.Write([]byte("hello"))
		mw.Close()
		resp, b := do(t, http.MethodPost, "/api/v1/documents", map[string]string{"Content-Type": mw.FormDataContentType()}, buf.Bytes())
		if resp.StatusCode != http.StatusForbidden || errCode(t, b) != api.CodeForbidden {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("the rate runs out", func(t *testing.T) {
		for i := 0; ; i++ {
			resp, b := do(t, http.MethodGet, "/api/v1/me", nil, nil)
			if resp.StatusCode == http.StatusTooManyRequests {
				if errCode(t, b) != api.CodeRateLimitExceeded || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Remaining") != "0" {
					t.Fatalf("429: %v %s", resp.Header, b)
				}
				break
			}
			if resp.StatusCode != http.StatusOK || i > freeRate {
				t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
			}
		}
	})

	t.Run("the policy refuses a served route it does not list", func(t *testing.T) {
		// The edge's Caddyfile keeps health outside the chain for this.
		resp, b := do(t, http.MethodGet, "/api/v1/health/live", nil, nil)
		var env api.Envelope
		json.Unmarshal(b, &env)
		if resp.StatusCode != http.StatusForbidden || env.Error == nil || env.Error.Details["reason"] != "ROUTE_NOT_ALLOWED" {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})
}
