package instrument

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/docstrange/mesh/auth"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func TestAccessLog(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := &Handler{access: zap.New(core)}

	r := httptest.NewRequest(http.MethodGet, "/api/v1/jobs/j1?token=signed-secret", nil)
	r.Header.Set("Authorization", "Bearer dsk_id_secret")
	r.Header.Set("X-API-Key", "dsk_id_secret")
	r.Header.Set("User-Agent", "tus-js-client")
	vars := map[string]any{
		docstrange.VarRequestID:  "req_1",
		docstrange.VarIdentity:   &auth.Identity{Kind: auth.KindAPIKey, Tenant: "acme", Tier: "api_key", KeyID: "key_1"},
		caddyhttp.ClientIPVarKey: "203.0.113.9",
	}
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars))
	h.logAccess(r, "GET /api/v1/jobs/{id}", http.StatusOK, 123, 1500*time.Microsecond)

	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d entries", len(entries))
	}
	e := entries[0]
	if e.Level != zapcore.InfoLevel || e.Message != "handled request" {
		t.Fatalf("entry %v %q", e.Level, e.Message)
	}
	got := e.ContextMap()
	want := map[string]any{
		"request_id": "req_1", "method": "GET", "path": "/api/v1/jobs/j1", "route": "GET /api/v1/jobs/{id}",
		"status": int64(200), "size": int64(123), "duration": 1500 * time.Microsecond,
		"client_ip": "203.0.113.9", "tenant": "acme", "tier": "api_key", "proto": "HTTP/1.1",
		"host": "example.com", "user_agent": "tus-js-client",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("fields %v, want exactly %v", got, want)
	}
	for k, v := range got {
		if s, ok := v.(string); ok && (s == "dsk_id_secret" || s == "Bearer dsk_id_secret" || s == "signed-secret") {
			t.Errorf("%s logged a credential: %q", k, s)
		}
	}

	// A 5xx is an error entry; an unauthenticated request has no tenant.
	h.logAccess(httptest.NewRequest(http.MethodPost, "/api/v1/documents", nil), unmatched, http.StatusServiceUnavailable, 0, time.Millisecond)
	last := logs.All()[1]
	if last.Level != zapcore.ErrorLevel || last.ContextMap()["tenant"] != "" || last.ContextMap()["status"] != int64(503) {
		t.Fatalf("5xx entry: %v %v", last.Level, last.ContextMap())
	}
}
