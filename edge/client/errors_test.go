package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// newTestClient is a client of srv whose retries do not make tests slow.
func newTestClient(t *testing.T, srv *httptest.Server, opts ...Option) *Client {
	t.Helper()
	c, err := New(srv.URL, append([]Option{WithAPIKey("dsk_test_secret")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	c.retry.backoff = time.Millisecond
	return c
}

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		header      map[string]string
		body        string
		wantCode    string
		wantMessage string
		wantReqID   string
		wantRetry   time.Duration
		wantDetails map[string]any
	}{
		{
			name:   "envelope",
			status: http.StatusNotFound,
			header: map[string]string{"X-Request-ID": "req_header"},
			body: `{"error":{"code":"JOB_NOT_FOUND","message":"no job with id \"job_x\"","details":{"job_id":"job_x"}},` +
				`"request_id":"req_envelope","timestamp":"2026-01-01T00:00:00Z"}`,
			wantCode: api.CodeJobNotFound, wantMessage: `no job with id "job_x"`, wantReqID: "req_envelope",
			wantDetails: map[string]any{"job_id": "job_x"},
		},
		{
			name:     "rate limited, Retry-After in seconds",
			status:   http.StatusTooManyRequests,
			header:   map[string]string{"Retry-After": "7"},
			body:     `{"error":{"code":"QUOTA_EXCEEDED","message":"spent"},"request_id":"req_1","timestamp":"2026-01-01T00:00:00Z"}`,
			wantCode: api.CodeQuotaExceeded, wantMessage: "spent", wantReqID: "req_1", wantRetry: 7 * time.Second,
		},
		{
			name:     "not an envelope: a proxy's page",
			status:   http.StatusBadGateway,
			header:   map[string]string{"X-Request-ID": "req_proxy"},
			body:     "<html>bad gateway</html>",
			wantCode: api.CodeDependencyUnavailable, wantMessage: "<html>bad gateway</html>", wantReqID: "req_proxy",
		},
		{
			name:     "empty body",
			status:   http.StatusConflict,
			wantCode: api.CodeInvalidRequest, wantMessage: "Conflict",
		},
		{
			name:     "JSON without an error",
			status:   http.StatusInternalServerError,
			body:     `{"status":"broken"}`,
			wantCode: api.CodeInternal, wantMessage: `{"status":"broken"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			c := newTestClient(t, srv, WithRetry(1, 0))
			_, err := c.Job(t.Context(), "job_x")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			var wire *api.Error
			if !errors.As(err, &wire) || wire != e.API {
				t.Fatalf("errors.As does not reach the *api.Error")
			}
			if e.Code() != tt.wantCode || Code(err) != tt.wantCode || e.Status() != tt.status {
				t.Errorf("code %q (Code %q), status %d; want %q, %d", e.Code(), Code(err), e.Status(), tt.wantCode, tt.status)
			}
			if e.API.Message != tt.wantMessage {
				t.Errorf("message %q, want %q", e.API.Message, tt.wantMessage)
			}
			if e.RequestID != tt.wantReqID {
				t.Errorf("request id %q, want %q", e.RequestID, tt.wantReqID)
			}
			if e.RetryAfter() != tt.wantRetry {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter(), tt.wantRetry)
			}
			for k, v := range tt.wantDetails {
				if e.API.Details[k] != v {
					t.Errorf("details[%s] = %v, want %v", k, e.API.Details[k], v)
				}
			}
			if !IsCode(err, "OTHER", tt.wantCode) || IsCode(err, "OTHER") {
				t.Errorf("IsCode disagrees with code %q", tt.wantCode)
			}
		})
	}
}

func TestErrorNetwork(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := newTestClient(t, srv, WithRetry(2, 0))
	_, err := c.Job(t.Context(), "job_x")
	if err == nil || Code(err) != "" {
		t.Fatalf("a refused connection: %v (code %q)", err, Code(err))
	}
	var e *Error
	if errors.As(err, &e) {
		t.Fatalf("a network failure became an API error: %v", e)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want int64
	}{
		{"seconds", "30", 30},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"date", now.Add(90*time.Second + 200*time.Millisecond).Format(http.TimeFormat), 90},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"empty", "", 0},
		{"garbage", "soon", 0},
		{"spaces", " 3 ", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Fatalf("parseRetryAfter(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	tests := []struct {
		name, url string
		ok        bool
	}{
		{"http", "http://127.0.0.1:8080", true},
		{"https with a path", "https://api.example.com/docstrange/", true},
		{"no scheme", "127.0.0.1:8080", false},
		{"ftp", "ftp://example.com", false},
		{"relative", "/api", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%q): %v", tt.url, err)
			}
		})
	}
}

func TestEndpointKeepsBasePath(t *testing.T) {
	c, err := New("https://api.example.com/docstrange/")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.endpoint("jobs/job_1", nil), "https://api.example.com/docstrange/api/v1/jobs/job_1"; got != want {
		t.Fatalf("endpoint %q, want %q", got, want)
	}
	if got, want := c.endpoint("uploads/", nil), "https://api.example.com/docstrange/api/v1/uploads/"; got != want {
		t.Fatalf("endpoint %q, want %q", got, want)
	}
}
