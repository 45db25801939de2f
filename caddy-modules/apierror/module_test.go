package apierror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
)

func TestFromError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		status   int
		code     string
		hideText bool
	}{
		{name: "api error kept", err: api.Errorf(418, "TEAPOT", "short and stout"), status: 418, code: "TEAPOT"},
		{name: "caddy 404", err: caddyhttp.Error(404, errors.New("no route for GET /x")), status: 404, code: api.CodeNotFound},
		{name: "body too large", err: caddyhttp.Error(413, fmt.Errorf("reading: %w", &http.MaxBytesError{Limit: 10})), status: 413, code: api.CodeFileTooLarge},
		{name: "internal detail hidden", err: caddyhttp.Error(502, errors.New("dial tcp 10.0.0.7:9000: refused")), status: 502, code: api.CodeDependencyUnavailable, hideText: true},
		{name: "plain error is 500", err: errors.New("boom"), status: 500, code: api.CodeInternal, hideText: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := FromError(tt.err)
			if e.Status != tt.status || e.Code != tt.code {
				t.Fatalf("got %d %s, want %d %s", e.Status, e.Code, tt.status, tt.code)
			}
			if tt.hideText && e.Message != http.StatusText(tt.status) {
				t.Fatalf("message %q leaks internals", e.Message)
			}
		})
	}
}

func TestRendersCaddyErrors(t *testing.T) {
	h := &Handler{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := httptest.NewRequest(http.MethodGet, "/nope", nil)
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ErrorCtxKey, caddyhttp.Error(404, errors.New("no route for GET /nope"))))
	w := httptest.NewRecorder()
	w.Header().Set("X-Request-ID", "req_1")
	if err := h.ServeHTTP(w, r, nil); err != nil {
		t.Fatal(err)
	}
	var env api.Envelope
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if w.Code != 404 || env.Error.Code != api.CodeNotFound || env.RequestID != "req_1" || env.Error.Message != "no route for GET /nope" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestRecoversPanics(t *testing.T) {
	h := &Handler{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { panic("nil map") })
	err := h.ServeHTTP(httptest.NewRecorder(), r, next)
	var herr caddyhttp.HandlerError
	if !errors.As(err, &herr) || herr.StatusCode != 500 {
		t.Fatalf("err = %v, want a 500 handler error", err)
	}
	if e := FromError(err); e.Code != api.CodeInternal || e.Message != "Internal Server Error" {
		t.Fatalf("rendered as %+v", e)
	}
}
