package requestid

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{name: "uuid", id: "3f2b6c1e-8f0a-4c57-9d7e-2a1b0c9d8e7f", want: true},
		{name: "dotted and colons", id: "edge-1:req.42_a", want: true},
		{name: "empty", id: "", want: false},
		{name: "space", id: "a b", want: false},
		{name: "header injection", id: "a\r\nSet-Cookie: x", want: false},
		{name: "non-ascii", id: "réq", want: false},
		{name: "max length", id: strings.Repeat("a", maxLen), want: true},
		{name: "too long", id: strings.Repeat("a", maxLen+1), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Valid(tt.id); got != tt.want {
				t.Fatalf("Valid(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestServeHTTP(t *testing.T) {
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{name: "well-formed id is echoed", incoming: "client-id-1", keep: true},
		{name: "missing id is generated"},
		{name: "ill-formed id is replaced", incoming: "bad id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.incoming != "" {
				r.Header.Set("X-Request-ID", tt.incoming)
			}
			r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
			w := httptest.NewRecorder()
			var seen string
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				seen, _ = caddyhttp.GetVar(r.Context(), docstrange.VarRequestID).(string)
				return nil
			})
			if err := new(Handler).ServeHTTP(w, r, next); err != nil {
				t.Fatal(err)
			}
			got := w.Header().Get("X-Request-ID")
			if tt.keep && got != tt.incoming {
				t.Fatalf("id %q, want %q kept", got, tt.incoming)
			}
			if !tt.keep && (!strings.HasPrefix(got, "req_") || got == tt.incoming) {
				t.Fatalf("id %q, want a generated one", got)
			}
			if seen != got || r.Header.Get("X-Request-ID") != got {
				t.Fatalf("var %q, request header %q, response %q", seen, r.Header.Get("X-Request-ID"), got)
			}
		})
	}
	if New() == New() {
		t.Fatal("New returned the same id twice")
	}
}
