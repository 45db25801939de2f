package urlfetch

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFetchAllowed fetches from origins the policy admits.
func TestFetchAllowed(t *testing.T) {
	var gotUA string
	origin := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/hop/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
			if n > 0 {
				http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
				return
			}
		case r.URL.Path == "/to-name":
			http.Redirect(w, r, "http://docs.test:"+r.URL.Query().Get("p")+"/doc", http.StatusFound)
			return
		}
		gotUA = r.UserAgent()
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write([]byte("%PDF-1.7 document"))
	}))
	p := port(origin)
	tests := []struct {
		name, url, finalURL string
		cfg                 Config
	}{
		{name: "allowed literal", url: origin.URL + "/doc", finalURL: origin.URL + "/doc",
			cfg: Config{Allow: []string{"127.0.0.1/32"}}},
		{name: "allowed by bare IP", url: origin.URL + "/doc", finalURL: origin.URL + "/doc",
			cfg: Config{Allow: []string{"127.0.0.1"}}},
		{name: "private range opened by CIDR", url: origin.URL + "/doc", finalURL: origin.URL + "/doc",
			cfg: Config{Allow: []string{"127.0.0.0/8"}}},
		{name: "name resolving into an allowed CIDR", url: "http://docs.test:" + p + "/doc", finalURL: "http://docs.test:" + p + "/doc",
			cfg: Config{Allow: []string{"127.0.0.1/32"}}},
		{name: "upper-case scheme and host", url: "HTTP://DOCS.TEST:" + p + "/doc", finalURL: "http://docs.test:" + p + "/doc",
			cfg: Config{Allow: []string{"127.0.0.1/32"}}},
		{name: "allowed host pattern", url: "http://good.example.test:" + p + "/doc", finalURL: "http://good.example.test:" + p + "/doc",
			cfg: Config{Allow: []string{"*.example.test", "127.0.0.1/32"}}},
		{name: "exactly max redirects", url: origin.URL + "/hop/5", finalURL: origin.URL + "/hop/0",
			cfg: Config{Allow: []string{"127.0.0.1/32"}}},
		{name: "redirect to an allowed name", url: origin.URL + "/to-name?p=" + p, finalURL: "http://docs.test:" + p + "/doc",
			cfg: Config{Allow: []string{"127.0.0.1/32"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFetcher(t, tt.cfg)
			if err := f.Check(t.Context(), tt.url); err != nil {
				t.Fatalf("Check: %v", err)
			}
			var buf bytes.Buffer
			res, err := f.Fetch(t.Context(), tt.url, &buf)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if buf.String() != "%PDF-1.7 document" || res.Bytes != int64(buf.Len()) {
				t.Errorf("got %q (%d bytes reported)", buf.String(), res.Bytes)
			}
			if res.URL != tt.finalURL || res.ContentType != "application/pdf" {
				t.Errorf("Result = %+v, want URL %s and application/pdf", res, tt.finalURL)
			}
			if gotUA != DefaultUserAgent {
				t.Errorf("User-Agent = %q", gotUA)
			}
		})
	}
}

// TestFetchTLSKeepsServerName dials the pinned IP but verifies the
// certificate for the URL's name: httptest's certificate is for example.com.
func TestFetchTLSKeepsServerName(t *testing.T) {
	var gotHost string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost = r.Host
		_, _ = w.Write([]byte("tls document"))
	}))
	t.Cleanup(srv.Close)
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	f := newFetcher(t, Config{Allow: []string{"127.0.0.1/32"}, TLSConfig: &tls.Config{RootCAs: roots}})
	u := "https://example.com:" + port(srv) + "/doc"
	var buf bytes.Buffer
	if _, err := f.Fetch(t.Context(), u, &buf); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if buf.String() != "tls document" || gotHost != "example.com:"+port(srv) {
		t.Errorf("got %q with Host %q", buf.String(), gotHost)
	}
	// The same server under a name its certificate lacks must fail TLS,
	// which shows the name, not the dialed IP, is what is verified.
	f = newFetcher(t, Config{Allow: []string{"127.0.0.1/32"}, TLSConfig: &tls.Config{RootCAs: roots}})
	_, err := f.Fetch(t.Context(), "https://docs.test:"+port(srv)+"/doc", io.Discard)
	if err == nil || errors.Is(err, ErrRefused) {
		t.Fatalf("Fetch under a name outside the certificate = %v, want a TLS error", err)
	}
}

// TestFetchIgnoresProxyEnv: a proxy would dial for us, past every check.
func TestFetchIgnoresProxyEnv(t *testing.T) {
	origin := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("direct"))
	}))
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	t.Setenv("NO_PROXY", "")
	f := newFetcher(t, Config{Allow: []string{"127.0.0.1/32"}})
	var buf bytes.Buffer
	if _, err := f.Fetch(t.Context(), "http://docs.test:"+port(origin)+"/", &buf); err != nil || buf.String() != "direct" {
		t.Fatalf("Fetch = %q, %v; want a direct fetch", buf.String(), err)
	}
}

// TestAllowDeny checks the operator's lists: Deny beats Allow, an Allow CIDR
// opens a range, Allow hosts restrict but never open an address.
func TestAllowDeny(t *testing.T) {
	origin := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("doc"))
	}))
	p := port(origin)
	tests := []struct {
		name, url, reason string // reason "" means fetched
		allow, deny       []string
	}{
		{name: "loopback closed by default", url: origin.URL, reason: "host is a loopback address (127.0.0.1)"},
		{name: "loopback opened by CIDR", url: origin.URL, allow: []string{"127.0.0.0/8"}},
		{name: "deny CIDR beats allow CIDR", url: origin.URL, allow: []string{"127.0.0.0/8"}, deny: []string{"127.0.0.1/32"}, reason: "host is an address on the denylist (127.0.0.1)"},
		{name: "deny CIDR beats allow CIDR for names", url: "http://docs.test:" + p, allow: []string{"127.0.0.0/8"}, deny: []string{"127.0.0.0/24"}, reason: "host resolves to an address on the denylist"},
		{name: "deny host beats allow host", url: "http://bad.example.test:" + p, allow: []string{"*.example.test", "127.0.0.1/32"}, deny: []string{"bad.example.test"}, reason: "host is on the denylist"},
		{name: "sibling of a denied host", url: "http://good.example.test:" + p, allow: []string{"*.example.test", "127.0.0.1/32"}, deny: []string{"bad.example.test"}},
		{name: "deny wildcard", url: "http://good.example.test:" + p, allow: []string{"127.0.0.1/32"}, deny: []string{"*.example.test"}, reason: "host is on the denylist"},
		{name: "deny host with trailing dot and case", url: "http://GOOD.Example.Test.:" + p, allow: []string{"127.0.0.1/32"}, deny: []string{"good.example.test"}, reason: "host is on the denylist"},
		{name: "deny host in full-width letters", url: "http://ｇｏｏｄ.example.test:" + p, allow: []string{"127.0.0.1/32"}, deny: []string{"good.example.test"}, reason: "host is on the denylist"},
		{name: "wildcard does not match the bare domain", url: "http://example.com:" + p, allow: []string{"127.0.0.1/32", "*.example.com"}, reason: "host is not on the allowlist"},
		{name: "allow hosts restrict names", url: "http://other.test:" + p, allow: []string{"docs.example.test", "127.0.0.1/32"}, reason: "host is not on the allowlist"},
		{name: "allow hosts restrict literals", url: "http://8.8.8.8/", allow: []string{"docs.example.test"}, reason: "host is an address not on the allowlist (8.8.8.8)"},
		{name: "allow CIDR admits literals when hosts restrict", url: origin.URL, allow: []string{"docs.example.test", "127.0.0.1/32"}},
		{name: "allow host never opens an address", url: "http://docs.example.test:" + p, allow: []string{"docs.example.test"}, reason: "host resolves to a loopback address"},
		{name: "deny CIDR sees into NAT64", url: "http://[64:ff9b::808:808]/", deny: []string{"8.8.8.0/24"}, reason: "host is an address on the denylist"},
		{name: "deny CIDR sees into mapped", url: "http://[::ffff:8.8.8.8]/", deny: []string{"8.8.8.8"}, reason: "host is an address on the denylist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFetcher(t, Config{Allow: tt.allow, Deny: tt.deny})
			var buf bytes.Buffer
			_, err := f.Fetch(t.Context(), tt.url, &buf)
			if tt.reason != "" {
				wantRefused(t, err, tt.reason)
				wantRefused(t, f.Check(t.Context(), tt.url), tt.reason)
				return
			}
			if err != nil || buf.String() != "doc" {
				t.Fatalf("Fetch = %q, %v; want the document", buf.String(), err)
			}
		})
	}
}

// TestFetchSizeCap: at most MaxBytes reach the writer, one more is
// ErrTooLarge, whether or not the origin announces the length.
func TestFetchSizeCap(t *testing.T) {
	const limit = 64 << 10
	origin := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("announce") == "" {
			w.Header().Set("Transfer-Encoding", "chunked")
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		_, _ = w.Write(bytes.Repeat([]byte("a"), n))
	}))
	tests := []struct {
		name     string
		n        int
		announce bool
		tooLarge bool
	}{
		{name: "under the cap", n: limit - 1},
		{name: "exactly the cap", n: limit},
		{name: "exactly the cap, announced", n: limit, announce: true},
		{name: "one byte over", n: limit + 1, tooLarge: true},
		{name: "one byte over, announced", n: limit + 1, announce: true, tooLarge: true},
		{name: "far over", n: 8 * limit, tooLarge: true},
	}
	f := newFetcher(t, Config{MaxBytes: limit, Allow: []string{"127.0.0.1/32"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := origin.URL + "/?n=" + strconv.Itoa(tt.n)
			if tt.announce {
				u += "&announce=1"
			}
			var buf bytes.Buffer
			res, err := f.Fetch(t.Context(), u, &buf)
			if buf.Len() > limit || res.Bytes != int64(buf.Len()) {
				t.Fatalf("wrote %d bytes (reported %d), cap %d", buf.Len(), res.Bytes, limit)
			}
			if tt.tooLarge {
				if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrRefused) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil || buf.Len() != tt.n {
				t.Fatalf("got %d bytes, %v; want %d", buf.Len(), err, tt.n)
			}
		})
	}
}

// countingReader counts what is read from an endless body.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// TestCopyCappedReadsOneByteMore: an endless body is read to the cap plus
// one byte, no further.
func TestCopyCappedReadsOneByteMore(t *testing.T) {
	for _, limit := range []int64{1, 1000, 1 << 20} {
		t.Run(strconv.FormatInt(limit, 10), func(t *testing.T) {
			r := new(countingReader)
			n, err := copyCapped(io.Discard, r, limit)
			if !errors.Is(err, ErrTooLarge) || n != limit || r.n != limit+1 {
				t.Fatalf("copyCapped = %d, %v after reading %d; want %d, ErrTooLarge after %d", n, err, r.n, limit, limit+1)
			}
		})
	}
}

// TestFetchFailures: the origin's failures are not refusals, so the caller
// maps them apart.
func TestFetchFailures(t *testing.T) {
	origin := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/broken":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/stall":
			<-r.Context().Done()
		case "/trickle":
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = w.Write([]byte("%PDF"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	tests := []struct {
		name   string
		path   string
		want   error
		status int
	}{
		{name: "origin 404", path: "/missing", want: ErrStatus, status: http.StatusNotFound},
		{name: "origin 500", path: "/broken", want: ErrStatus, status: http.StatusInternalServerError},
		{name: "no answer in time", path: "/stall", want: ErrTimeout},
		{name: "body too slow", path: "/trickle", want: ErrTimeout},
	}
	f := newFetcher(t, Config{Allow: []string{"127.0.0.1/32"}, Timeout: 200 * time.Millisecond})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := f.Fetch(t.Context(), origin.URL+tt.path, io.Discard)
			if !errors.Is(err, tt.want) || errors.Is(err, ErrRefused) || errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want only %v", err, tt.want)
			}
			var se *StatusError
			if tt.status != 0 && (!errors.As(err, &se) || se.StatusCode != tt.status) {
				t.Fatalf("err = %v, want a StatusError %d", err, tt.status)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %s with a 200ms timeout", d)
			}
		})
	}
	// The caller's own cancellation is not our timeout.
	ctx, cancel := contextWithCancel(t)
	cancel()
	_, err := f.Fetch(ctx, origin.URL+"/stall", io.Discard)
	if err == nil || errors.Is(err, ErrTimeout) || errors.Is(err, ErrRefused) {
		t.Fatalf("canceled Fetch = %v, want the caller's cancellation", err)
	}
}
