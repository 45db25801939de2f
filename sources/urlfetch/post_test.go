package urlfetch

import (
	"io"
	"net/http"
	"testing"
)

func TestPost(t *testing.T) {
	var gotBody, gotSig string
	rcv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/hook", http.StatusTemporaryRedirect)
			return
		case "/fail":
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		gotBody, gotSig = string(b), r.Header.Get("Webhook-Signature")
		w.WriteHeader(http.StatusNoContent)
	}))
	meta, hits := victim(t)
	allowed := newFetcher(t, Config{Allow: []string{"127.0.0.1/32"}})
	strict := newFetcher(t, Config{})
	h := http.Header{"Webhook-Signature": {"v1,abc"}}

	tests := []struct {
		name    string
		f       *Fetcher
		url     string
		status  int
		refused string
	}{
		{name: "allowed receiver", f: allowed, url: rcv.URL + "/hook", status: http.StatusNoContent},
		{name: "redirect is not followed", f: allowed, url: rcv.URL + "/moved", status: http.StatusTemporaryRedirect},
		{name: "receiver error is a status", f: allowed, url: rcv.URL + "/fail", status: http.StatusServiceUnavailable},
		{name: "loopback refused by default", f: strict, url: rcv.URL + "/hook", refused: "loopback"},
		{name: "name resolving to loopback refused", f: strict, url: "http://evil.test:" + port(meta) + "/", refused: "loopback"},
		{name: "metadata refused", f: strict, url: "http://169.254.169.254/latest", refused: "link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotBody = ""
			status, err := tt.f.Post(t.Context(), tt.url, h, []byte(`{"a":1}`))
			if tt.refused != "" {
				wantRefused(t, err, tt.refused)
				return
			}
			if err != nil || status != tt.status {
				t.Fatalf("Post = %d, %v; want %d", status, err, tt.status)
			}
			if tt.status == http.StatusNoContent && (gotBody != `{"a":1}` || gotSig != "v1,abc") {
				t.Errorf("receiver got body %q signature %q", gotBody, gotSig)
			}
		})
	}
	if hits.Load() != 0 {
		t.Errorf("a refused address was reached %d times", hits.Load())
	}
}
