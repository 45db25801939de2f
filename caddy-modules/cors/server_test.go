package cors

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/internal/caddyharness"
)

// TestServer runs the handler inside a real Caddy, adapted from a
// Caddyfile, in front of a route that stands for authentication: a
// preflight must be answered without reaching it.
func TestServer(t *testing.T) {
	tester, base := caddyharness.Start(t, "", `
		route {
			docstrange_cors {
				origins https://app.example
			}
			@noauth not header Authorization *
			respond @noauth "unauthenticated" 401
			respond "ok" 200
		}`)
	base += "/api/v1/jobs"

	tests := []struct {
		name        string
		method      string
		headers     map[string]string
		wantStatus  int
		wantHeaders map[string]string // "" means absent
		wantCode    string            // of an error envelope
	}{
		{
			name:   "preflight needs no credentials",
			method: http.MethodOptions,
			headers: map[string]string{
				"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type",
			},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Headers": "authorization,content-type", "Access-Control-Max-Age": "600"},
		},
		{
			name:        "preflight from another origin",
			method:      http.MethodOptions,
			headers:     map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
			wantStatus:  http.StatusForbidden,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""},
			wantCode:    api.CodeForbidden,
		},
		{
			name:        "request goes on to authentication",
			method:      http.MethodGet,
			headers:     map[string]string{"Origin": "https://app.example"},
			wantStatus:  http.StatusUnauthorized,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Vary": "Origin"},
		},
		{
			name:        "authenticated request",
			method:      http.MethodGet,
			headers:     map[string]string{"Origin": "https://app.example", "Authorization": "Bearer x"},
			wantStatus:  http.StatusOK,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example"},
		},
		{
			name:        "request from another origin gets no CORS headers",
			method:      http.MethodGet,
			headers:     map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer x"},
			wantStatus:  http.StatusOK,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, base, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := tester.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.wantStatus, body)
			}
			for k, want := range tt.wantHeaders {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tt.wantCode == "" {
				return
			}
			var env api.Envelope
			if err := json.Unmarshal(body, &env); err != nil || env.Error == nil || env.Error.Code != tt.wantCode {
				t.Fatalf("body %q (%v), want error code %s", body, err, tt.wantCode)
			}
		})
	}
}
