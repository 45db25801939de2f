package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// scripted answers each request with the next of its steps, repeating the
// last; it records the requests.
type scripted struct {
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, r *http.Request)
	reqs  []*http.Request
	bodys [][]byte
	at    []time.Time
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, r)
	s.bodys = append(s.bodys, body)
	s.at = append(s.at, time.Now())
	step := s.steps[min(n, len(s.steps)-1)]
	s.mu.Unlock()
	step(w, r)
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func apiErrorStep(status int, code, retryAfter string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		e := api.Errorf(status, code, "scripted")
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		api.WriteError(w, e)
	}
}

func jobStep(status int, job api.Job) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(job)
	}
}

// dropConnection closes the connection without an answer: a network error.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

func TestRetry(t *testing.T) {
	done := api.Job{ID: "job_1", JobID: "job_1", Status: StatusSucceeded}
	tests := []struct {
		name        string
		steps       []func(http.ResponseWriter, *http.Request)
		maxAttempts int
		maxWait     time.Duration
		wantCalls   int
		wantCode    string
		// wantGap is the least time between the first two calls.
		wantGap time.Duration
	}{
		{
			name:        "429 then success, honouring Retry-After",
			steps:       []func(http.ResponseWriter, *http.Request){apiErrorStep(429, api.CodeRateLimitExceeded, "1"), jobStep(200, done)},
			maxAttempts: 4, wantCalls: 2, wantGap: time.Second,
		},
		{
			name:        "503 without Retry-After backs off and succeeds",
			steps:       []func(http.ResponseWriter, *http.Request){apiErrorStep(503, api.CodeDependencyUnavailable, ""), apiErrorStep(503, api.CodeDependencyUnavailable, ""), jobStep(200, done)},
			maxAttempts: 4, wantCalls: 3,
		},
		{
			name:        "503 until the bound",
			steps:       []func(http.ResponseWriter, *http.Request){apiErrorStep(503, api.CodeDependencyUnavailable, "")},
			maxAttempts: 3, wantCalls: 3, wantCode: api.CodeDependencyUnavailable,
		},
		{
			name:        "Retry-After beyond the longest wait is returned",
			steps:       []func(http.ResponseWriter, *http.Request){apiErrorStep(429, api.CodeQuotaExceeded, "3600"), jobStep(200, done)},
			maxAttempts: 4, maxWait: time.Minute, wantCalls: 1, wantCode: api.CodeQuotaExceeded,
		},
		{
			name:        "a client error is not retried",
			steps:       []func(http.ResponseWriter, *http.Request){apiErrorStep(404, api.CodeJobNotFound, ""), jobStep(200, done)},
			maxAttempts: 4, wantCalls: 1, wantCode: api.CodeJobNotFound,
		},
		{
			name:        "a network error on a GET is retried",
			steps:       []func(http.ResponseWriter, *http.Request){dropConnection, jobStep(200, done)},
			maxAttempts: 4, wantCalls: 2,
		},
		{
			name:        "retries off",
			steps:       []func(http.ResponseWriter, *http.Request){apiErrorStep(503, api.CodeDependencyUnavailable, "1"), jobStep(200, done)},
			maxAttempts: 1, wantCalls: 1, wantCode: api.CodeDependencyUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{steps: tt.steps}
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			c := newTestClient(t, srv, WithRetry(tt.maxAttempts, tt.maxWait))
			j, err := c.Job(t.Context(), "job_1")
			if got := s.count(); got != tt.wantCalls {
				t.Fatalf("%d calls, want %d (err %v)", got, tt.wantCalls, err)
			}
			if tt.wantCode != "" {
				if Code(err) != tt.wantCode {
					t.Fatalf("error %v, want code %s", err, tt.wantCode)
				}
				return
			}
			if err != nil || j.Status != StatusSucceeded {
				t.Fatalf("job %+v, err %v", j, err)
			}
			if gap := s.at[1].Sub(s.at[0]); gap < tt.wantGap {
				t.Fatalf("retried after %v, Retry-After asked for %v", gap, tt.wantGap)
			}
		})
	}
}

// TestSubmitRetrySafe: a submission retried after a network error carries
// the same Idempotency-Key and the same bytes, so the edge can answer with
// the job the first try created.
func TestSubmitRetrySafe(t *testing.T) {
	s := &scripted{steps: []func(http.ResponseWriter, *http.Request){
		dropConnection,
		apiErrorStep(503, api.CodeDependencyUnavailable, ""),
		jobStep(http.StatusAccepted, api.Job{ID: "job_1", JobID: "job_1", Status: StatusQueued}),
	}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv)
	doc := []byte("%PDF-1.4 a document")
	j, err := c.Submit(t.Context(), bytes.NewReader(doc), "a.pdf", Options{OutputFormats: []string{"markdown"}})
	if err != nil || j.JobID != "job_1" {
		t.Fatalf("submit: %+v, %v", j, err)
	}
	if s.count() != 3 {
		t.Fatalf("%d tries, want 3", s.count())
	}
	keys := map[string]bool{}
	for i, r := range s.reqs {
		keys[r.Header.Get("Idempotency-Key")] = true
		if i > 0 && !bytes.Equal(s.bodys[i], s.bodys[1]) {
			t.Fatalf("try %d sent other bytes", i+1)
		}
		if r.Header.Get("Authorization") != "Bearer dsk_test_secret" {
			t.Fatalf("Authorization %q", r.Header.Get("Authorization"))
		}
	}
	if len(keys) != 1 || keys[""] {
		t.Fatalf("Idempotency-Keys %v: want one, the same on every try", keys)
	}
	if !bytes.Contains(s.bodys[2], doc) {
		t.Fatalf("the document is not in the retried body")
	}
}

// TestSubmitUnseekableOnce: a reader that cannot be rewound is sent once,
// chunked, and a 503 is returned rather than retried with half a body.
func TestSubmitUnseekableOnce(t *testing.T) {
	s := &scripted{steps: []func(http.ResponseWriter, *http.Request){apiErrorStep(503, api.CodeDependencyUnavailable, "")}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv)
	_, err := c.Submit(t.Context(), io.MultiReader(strings.NewReader("%PDF-1.4 streamed")), "s.pdf", Options{})
	if Code(err) != api.CodeDependencyUnavailable || s.count() != 1 {
		t.Fatalf("err %v after %d tries; want the 503 after one", err, s.count())
	}
	if s.reqs[0].ContentLength != -1 {
		t.Fatalf("Content-Length %d for an unseekable reader", s.reqs[0].ContentLength)
	}
}
