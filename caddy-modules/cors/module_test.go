package cors

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
)

// provisioned returns h provisioned and validated.
func provisioned(t *testing.T, h Handler) *Handler {
	t.Helper()
	if err := h.Provision(caddy.Context{}); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return &h
}

func TestServeHTTP(t *testing.T) {
	app := Handler{AllowedOrigins: []string{"https://app.example", "https://*.tenants.example"}}
	tests := []struct {
		name        string
		h           Handler
		method      string
		origin      string
		reqMethod   string // Access-Control-Request-Method
		reqHeaders  string // Access-Control-Request-Headers
		wantStatus  int
		wantNext    bool
		wantHeaders map[string]string // "" means absent
		wantMessage string            // of a refusal
	}{
		{
			name: "preflight from an allowed origin", h: app,
			method: http.MethodOptions, origin: "https://app.example", reqMethod: "POST", reqHeaders: "authorization,content-type,idempotency-key",
			wantStatus: http.StatusNoContent,
			wantHeaders: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example",
				"Access-Control-Allow-Methods":     "POST",
				"Access-Control-Allow-Headers":     "authorization,content-type,idempotency-key",
				"Access-Control-Max-Age":           "600",
				"Access-Control-Allow-Credentials": "",
				"Vary":                             "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
			},
		},
		{
			name: "tus preflight", h: app,
			method: http.MethodOptions, origin: "https://app.example", reqMethod: "PATCH", reqHeaders: "content-type,tus-resumable,upload-checksum,upload-offset",
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "PATCH"},
		},
		{
			name: "preflight from a wildcard subdomain", h: app,
			method: http.MethodOptions, origin: "https://acme.tenants.example", reqMethod: "GET",
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://acme.tenants.example"},
		},
		{
			name: "preflight with credentials", h: Handler{AllowedOrigins: []string{"https://app.example"}, AllowCredentials: true, MaxAge: caddy.Duration(time.Hour)},
			method: http.MethodOptions, origin: "https://app.example", reqMethod: "DELETE",
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "3600"},
		},
		{
			name: "preflight from any origin", h: Handler{AllowedOrigins: []string{"*"}},
			method: http.MethodOptions, origin: "https://anyone.example", reqMethod: "GET",
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "*"},
		},
		{
			name: "preflight from a disallowed origin", h: app,
			method: http.MethodOptions, origin: "https://evil.example", reqMethod: "POST",
			wantStatus:  http.StatusForbidden,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
			wantMessage: `CORS: origin "https://evil.example" is not allowed`,
		},
		{
			name: "preflight from a look-alike of the wildcard", h: app,
			method: http.MethodOptions, origin: "https://tenants.example.evil.example", reqMethod: "GET",
			wantStatus:  http.StatusForbidden,
			wantMessage: `CORS: origin "https://tenants.example.evil.example" is not allowed`,
		},
		{
			name: "preflight for a disallowed method", h: app,
			method: http.MethodOptions, origin: "https://app.example", reqMethod: "PUT",
			wantStatus:  http.StatusForbidden,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""},
			wantMessage: `CORS: method "PUT" or the requested headers are not allowed from origin "https://app.example"`,
		},
		{
			name: "preflight for a disallowed header", h: app,
			method: http.MethodOptions, origin: "https://app.example", reqMethod: "POST", reqHeaders: "x-evil",
			wantStatus:  http.StatusForbidden,
			wantMessage: `CORS: method "POST" or the requested headers are not allowed from origin "https://app.example"`,
		},
		{
			name: "OPTIONS without an origin is no preflight", h: app,
			method: http.MethodOptions, reqMethod: "POST",
			wantStatus: http.StatusOK, wantNext: true,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "CORS off: preflight goes on", h: Handler{},
			method: http.MethodOptions, origin: "https://app.example", reqMethod: "POST",
			wantStatus: http.StatusOK, wantNext: true,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Vary": ""},
		},
		{
			name: "CORS off: request goes on bare", h: Handler{},
			method: http.MethodGet, origin: "https://app.example",
			wantStatus: http.StatusOK, wantNext: true,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": ""},
		},
		{
			name: "request from an allowed origin", h: app,
			method: http.MethodPost, origin: "https://app.example",
			wantStatus: http.StatusOK, wantNext: true,
			wantHeaders: map[string]string{
				"Access-Control-Allow-Origin":   "https://app.example",
				"Access-Control-Expose-Headers": strings.Join(defaultExposed, ", "),
				"Vary":                          "Origin",
			},
		},
		{
			name: "request from a disallowed origin", h: app,
			method: http.MethodGet, origin: "https://evil.example",
			wantStatus: http.StatusOK, wantNext: true,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": "Origin"},
		},
		{
			name: "request without an origin", h: app,
			method:     http.MethodGet,
			wantStatus: http.StatusOK, wantNext: true,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"},
		},
		{
			name: "request with a disallowed method", h: app,
			method: http.MethodPut, origin: "https://app.example",
			wantStatus: http.StatusOK, wantNext: true,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := provisioned(t, tt.h)
			r := httptest.NewRequest(tt.method, "/api/v1/jobs", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.reqMethod != "" {
				r.Header.Set("Access-Control-Request-Method", tt.reqMethod)
			}
			if tt.reqHeaders != "" {
				r.Header.Set("Access-Control-Request-Headers", tt.reqHeaders)
			}
			w := httptest.NewRecorder()
			nextCalled := false
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
				nextCalled = true
				w.WriteHeader(http.StatusOK)
				return nil
			})
			if err := h.ServeHTTP(w, r, next); err != nil {
				t.Fatalf("ServeHTTP: %v", err)
			}
			if w.Code != tt.wantStatus || nextCalled != tt.wantNext {
				t.Fatalf("status %d, next called %v; want %d, %v", w.Code, nextCalled, tt.wantStatus, tt.wantNext)
			}
			for k, want := range tt.wantHeaders {
				// Header names are case-insensitive; rs/cors canonicalizes
				// the exposed ones (X-Request-Id).
				if got := strings.Join(w.Header().Values(k), ", "); !strings.EqualFold(got, want) {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tt.wantMessage == "" {
				return
			}
			var env api.Envelope
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
				t.Fatalf("decoding %q: %v", w.Body, err)
			}
			if env.Error == nil || env.Error.Code != api.CodeForbidden || env.Error.Message != tt.wantMessage {
				t.Fatalf("error %+v, want %s: %q", env.Error, api.CodeForbidden, tt.wantMessage)
			}
		})
	}
}

func TestProvisionOrigins(t *testing.T) {
	t.Setenv("DOCSTRANGE_CORS_TEST_ORIGINS", "https://a.example, https://b.example")
	t.Setenv("DOCSTRANGE_CORS_TEST_EMPTY", "")
	tests := []struct {
		name    string
		origins []string
		want    []string
		wantOn  bool
	}{
		{name: "none", wantOn: false},
		{name: "list", origins: []string{"https://a.example", "https://b.example"}, want: []string{"https://a.example", "https://b.example"}, wantOn: true},
		{name: "comma-separated entry", origins: []string{"https://a.example,https://b.example"}, want: []string{"https://a.example", "https://b.example"}, wantOn: true},
		{name: "environment placeholder", origins: []string{"{env.DOCSTRANGE_CORS_TEST_ORIGINS}"}, want: []string{"https://a.example", "https://b.example"}, wantOn: true},
		{name: "empty environment placeholder", origins: []string{"{env.DOCSTRANGE_CORS_TEST_EMPTY}"}, wantOn: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := provisioned(t, Handler{AllowedOrigins: tt.origins})
			if !slices.Equal(h.AllowedOrigins, tt.want) || (h.cors != nil) != tt.wantOn {
				t.Fatalf("origins %q, on %v; want %q, %v", h.AllowedOrigins, h.cors != nil, tt.want, tt.wantOn)
			}
			if !slices.Equal(h.AllowedMethods, defaultMethods) || !slices.Equal(h.AllowedHeaders, defaultHeaders) ||
				!slices.Equal(h.ExposedHeaders, defaultExposed) || time.Duration(h.MaxAge) != DefaultMaxAge {
				t.Fatalf("defaults not filled in: %+v", h)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		h       Handler
		wantErr string // empty: valid
	}{
		{name: "off", h: Handler{}},
		{name: "exact origins", h: Handler{AllowedOrigins: []string{"https://app.example", "http://localhost:3000"}}},
		{name: "wildcard subdomain with credentials", h: Handler{AllowedOrigins: []string{"https://*.example.com"}, AllowCredentials: true}},
		{name: "lower-case methods are fine", h: Handler{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"get", "post"}}},
		{name: "any header", h: Handler{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"}}},
		{name: "credentials with any origin", h: Handler{AllowedOrigins: []string{"*"}, AllowCredentials: true}, wantErr: "credentials cannot be allowed"},
		{name: "any origin among others", h: Handler{AllowedOrigins: []string{"https://app.example", "*"}}, wantErr: `"*" must be the only origin`},
		{name: "trailing slash", h: Handler{AllowedOrigins: []string{"https://app.example/"}}, wantErr: "not even a trailing slash"},
		{name: "path", h: Handler{AllowedOrigins: []string{"https://app.example/app"}}, wantErr: "no path"},
		{name: "no scheme", h: Handler{AllowedOrigins: []string{"app.example"}}, wantErr: "http or https origin"},
		{name: "null origin", h: Handler{AllowedOrigins: []string{"null"}}, wantErr: "http or https origin"},
		{name: "other scheme", h: Handler{AllowedOrigins: []string{"ftp://app.example"}}, wantErr: "http or https origin"},
		{name: "wildcard inside a label", h: Handler{AllowedOrigins: []string{"https://*example.com"}}, wantErr: "only stand for subdomains"},
		{name: "wildcard port", h: Handler{AllowedOrigins: []string{"https://app.example:*"}}, wantErr: "only stand for subdomains"},
		{name: "two wildcards", h: Handler{AllowedOrigins: []string{"https://*.*.example.com"}}, wantErr: "only stand for subdomains"},
		{name: "unknown method", h: Handler{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GTE"}}, wantErr: `unknown method "GTE"`},
		{name: "bad header", h: Handler{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"X Bad"}}, wantErr: "not a header name"},
		{name: "bad exposed header", h: Handler{AllowedOrigins: []string{"*"}, ExposedHeaders: []string{"X:Bad"}}, wantErr: "not a header name"},
		{name: "negative max age", h: Handler{AllowedOrigins: []string{"*"}, MaxAge: -1}, wantErr: "max_age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if err := h.Provision(caddy.Context{}); err != nil {
				t.Fatalf("Provision: %v", err)
			}
			err := h.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
