package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// TestURLSources: a URL source is fetched by the edge under the SSRF
// policy. The test's origin listens on loopback, which is refused unless
// the operator opens it, as an internal document server would be.
func TestURLSources(t *testing.T) {
	pdf := readFile(t, helloPDF)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hello.pdf":
			w.Header().Set("Content-Type", "application/pdf")
			w.Write(pdf)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(origin.Close)

	t.Run("loopback refused by default", func(t *testing.T) {
		s := startStack(t, "DOCSTRANGE_WORKERS=-1")
		for _, u := range []string{origin.URL + "/hello.pdf", "http://[::1]/", "http://169.254.169.254/", "http://2130706433/", "ftp://example.com/a.pdf"} {
			r := s.submitSource(s.key, `{"source":{"url":"`+u+`"}}`)
			env := wantError(t, r, http.StatusBadRequest, api.CodeURLNotAllowed)
			if env.Error.Details["reason"] == nil || env.Error.Details["reason"] == "" {
				t.Fatalf("%s: no reason in %v", u, env.Error.Details)
			}
		}
		// The free tier has no URL sources at all.
		r := s.submitSource("", `{"source":{"url":"https://example.com/a.pdf"}}`)
		env := wantError(t, r, http.StatusForbidden, api.CodeForbidden)
		if env.Error.Details["feature"] != "url_source" {
			t.Fatalf("403 details %v", env.Error.Details)
		}
	})

	t.Run("an allowed origin is fetched", func(t *testing.T) {
		s := startStack(t, "DOCSTRANGE_URL_ALLOW=127.0.0.1/32")
		r := s.submitSource(s.key, `{"source":{"url":"`+origin.URL+`/hello.pdf"}}`)
		if r.status != http.StatusAccepted {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
		var j api.Job
		r.json(t, &j)
		if done := s.waitFor(j.JobID, 60*time.Second); done.Status != "succeeded" {
			t.Fatalf("job: %+v", done)
		}
		// A redirect from the allowed origin to the metadata address is
		// refused at the redirect.
		wantError(t, s.submitSource(s.key, `{"source":{"url":"`+origin.URL+`/to-metadata"}}`), http.StatusBadRequest, api.CodeURLNotAllowed)
		// The origin's own failure is the origin's.
		wantError(t, s.submitSource(s.key, `{"source":{"url":"`+origin.URL+`/missing.pdf"}}`), http.StatusUnprocessableEntity, api.CodeURLFetchFailed)
	})
}
