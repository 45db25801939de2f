package docs

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/api/openapi"
)

func newTestHandler(t *testing.T) *Handler {
	t.Helper()
	files, err := loadFiles()
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{files: files}
	h.routes = h.buildRoutes()
	return h
}

func TestServe(t *testing.T) {
	h := newTestHandler(t)
	doc, err := fs.ReadFile(openapi.FS, openapi.File)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		wantType   string
		wantCSP    string
		wantNext   bool
		wantBody   []byte
		wantGzip   bool
		wantCode   string
	}{
		{name: "document", method: "GET", path: DocumentPath, wantStatus: 200, wantType: typeJSON, wantBody: doc},
		{name: "document gzip", method: "GET", path: DocumentPath, header: map[string]string{"Accept-Encoding": "br, gzip"},
			wantStatus: 200, wantType: typeJSON, wantBody: doc, wantGzip: true},
		{name: "document gzip refused", method: "GET", path: DocumentPath, header: map[string]string{"Accept-Encoding": "gzip;q=0, *"},
			wantStatus: 200, wantType: typeJSON, wantBody: doc},
		{name: "document not modified", method: "GET", path: DocumentPath,
			header: map[string]string{"If-None-Match": h.files[DocumentPath].etag}, wantStatus: 304},
		{name: "document weak etag", method: "GET", path: DocumentPath,
			header: map[string]string{"If-None-Match": `"x", W/` + h.files[DocumentPath].etag}, wantStatus: 304},
		{name: "document head", method: "HEAD", path: DocumentPath, wantStatus: 200, wantType: typeJSON, wantBody: []byte{}},
		{name: "page", method: "GET", path: "/docs", wantStatus: 200, wantType: typeHTML, wantCSP: PageCSP},
		{name: "bundle", method: "GET", path: "/docs/swagger-ui-bundle.js", wantStatus: 200, wantType: typeJS},
		{name: "style sheet", method: "GET", path: "/docs/swagger-ui.css", wantStatus: 200, wantType: typeCSS},
		{name: "starter", method: "GET", path: "/docs/docs.js", wantStatus: 200, wantType: typeJS},
		{name: "page style", method: "GET", path: "/docs/docs.css", wantStatus: 200, wantType: typeCSS},
		{name: "unknown file", method: "GET", path: "/docs/LICENSE", wantStatus: 404, wantCode: api.CodeNotFound},
		{name: "wrong method", method: "POST", path: "/docs", wantStatus: 405, wantCode: api.CodeMethodNotAllowed},
		{name: "other path", method: "GET", path: "/api/v1/jobs", wantNext: true},
		{name: "deeper path", method: "GET", path: "/docs/a/b", wantNext: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			// The security-headers module's API default, which the page
			// must replace.
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			nextCalled := false
			next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { nextCalled = true; return nil })
			if err := h.ServeHTTP(w, r, next); err != nil {
				t.Fatal(err)
			}
			if nextCalled != tt.wantNext {
				t.Fatalf("next called: %v", nextCalled)
			}
			if tt.wantNext {
				return
			}
			res := w.Result()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.wantStatus, w.Body.Bytes())
			}
			if tt.wantCode != "" {
				var env api.Envelope
				if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Error == nil || env.Error.Code != tt.wantCode {
					t.Fatalf("body %s, want code %s", w.Body.Bytes(), tt.wantCode)
				}
				return
			}
			if got := res.Header.Get("ETag"); got == "" {
				t.Error("no ETag")
			}
			if got := res.Header.Get("Cache-Control"); got != cacheControl {
				t.Errorf("Cache-Control %q", got)
			}
			if tt.wantCSP != "" {
				if got := res.Header.Values("Content-Security-Policy"); len(got) != 1 || got[0] != tt.wantCSP {
					t.Errorf("Content-Security-Policy %q, want %q", got, tt.wantCSP)
				}
			}
			if tt.wantStatus == http.StatusNotModified {
				if w.Body.Len() != 0 {
					t.Errorf("a 304 with a body")
				}
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			body := w.Body.Bytes()
			if gz := res.Header.Get("Content-Encoding") == "gzip"; gz != tt.wantGzip {
				t.Fatalf("gzip-encoded: %v", gz)
			} else if gz {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if tt.wantBody != nil && !bytes.Equal(body, tt.wantBody) {
				t.Errorf("body differs from the embedded file (%d bytes, want %d)", len(body), len(tt.wantBody))
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		name, header string
		want         bool
	}{
		{name: "none", header: "", want: false},
		{name: "gzip", header: "gzip", want: true},
		{name: "list", header: "deflate, gzip;q=0.5, br", want: true},
		{name: "refused", header: "gzip;q=0", want: false},
		{name: "refused over star", header: "*, gzip;q=0", want: false},
		{name: "star", header: "br, *", want: true},
		{name: "identity only", header: "identity", want: false},
		{name: "case", header: "GZIP", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := acceptsGzip(tt.header); got != tt.want {
				t.Fatalf("acceptsGzip(%q) = %v", tt.header, got)
			}
		})
	}
}
