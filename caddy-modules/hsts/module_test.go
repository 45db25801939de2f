package hsts

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestHeaders(t *testing.T) {
	tests := []struct {
		name     string
		h        Handler
		tls      bool
		wantHSTS string
	}{
		{name: "plain http gets no hsts", tls: false, wantHSTS: ""},
		{name: "defaults over tls", tls: true, wantHSTS: "max-age=63072000; includeSubDomains"},
		{name: "preload", h: Handler{Preload: true}, tls: true, wantHSTS: "max-age=63072000; includeSubDomains; preload"},
		{name: "short, no subdomains", h: Handler{MaxAge: caddy.Duration(time.Hour), NoSubdomains: true}, tls: true, wantHSTS: "max-age=3600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if err := h.Provision(caddy.Context{}); err != nil {
				t.Fatal(err)
			}
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			w.Header().Set("Server", "Caddy")
			called := false
			next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { called = true; return nil })
			if err := h.ServeHTTP(w, r, next); err != nil || !called {
				t.Fatalf("next called %v, err %v", called, err)
			}
			if got := w.Header().Get("Strict-Transport-Security"); got != tt.wantHSTS {
				t.Fatalf("HSTS %q, want %q", got, tt.wantHSTS)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Server": ""} {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, h := range []Handler{
		{Preload: true, NoSubdomains: true},
		{Preload: true, MaxAge: caddy.Duration(time.Hour)},
		{MaxAge: -1},
	} {
		if err := h.Validate(); err == nil {
			t.Errorf("%+v validated", h)
		}
	}
}
