package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

func TestSubmitMultipart(t *testing.T) {
	doc := []byte("%PDF-1.4\nthe document's bytes\n%%EOF\n")
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		opts        Options
		wantOptions map[string]any
	}{
		{name: "no options"},
		{
			name:        "options as one JSON field",
			opts:        Options{OutputFormats: []string{"json", "markdown"}, Pages: "1-3,7", OCR: "force", Languages: []string{"en"}, Device: "cpu"},
			wantOptions: map[string]any{"output_formats": []any{"json", "markdown"}, "pages": "1-3,7", "ocr": "force", "languages": []any{"en"}, "device": "cpu"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				contentLength int64
				file          []byte
				filename      string
				options       map[string]any
				fields        int
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/api/v1/documents" {
					t.Errorf("%s %s", r.Method, r.URL.Path)
				}
				got.contentLength = r.ContentLength
				if err := r.ParseMultipartForm(1 << 20); err != nil {
					t.Errorf("parsing the form: %v", err)
					return
				}
				got.fields = len(r.MultipartForm.Value)
				if raw := r.FormValue("options"); raw != "" {
					json.Unmarshal([]byte(raw), &got.options)
				}
				f, fh, err := r.FormFile("file")
				if err != nil {
					t.Errorf("file part: %v", err)
					return
				}
				got.filename = fh.Filename
				got.file, _ = io.ReadAll(f)
				w.Header().Set("Location", "/api/v1/jobs/job_1")
				jobStep(http.StatusAccepted, api.Job{ID: "job_1", JobID: "job_1", Status: StatusQueued})(w, r)
			}))
			t.Cleanup(srv.Close)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			j, err := newTestClient(t, srv).Submit(t.Context(), f, "report.pdf", tt.opts)
			if err != nil || j.Status != StatusQueued {
				t.Fatalf("submit: %+v %v", j, err)
			}
			if string(got.file) != string(doc) || got.filename != "report.pdf" {
				t.Fatalf("file %q named %q", got.file, got.filename)
			}
			if got.contentLength <= int64(len(doc)) {
				t.Fatalf("Content-Length %d for a file of %d bytes", got.contentLength, len(doc))
			}
			if !reflect.DeepEqual(got.options, tt.wantOptions) {
				t.Fatalf("options %v, want %v", got.options, tt.wantOptions)
			}
			if tt.wantOptions == nil && got.fields != 0 {
				t.Fatalf("%d form fields beside the file, want none", got.fields)
			}
		})
	}
}

func TestSubmitSource(t *testing.T) {
	tests := []struct {
		name   string
		submit func(c *Client) (*api.Job, error)
		want   string
	}{
		{"upload", func(c *Client) (*api.Job, error) { return c.SubmitUpload(t.Context(), "up_1", Options{}) }, `{"source":{"upload_id":"up_1"}}`},
		{"url with options", func(c *Client) (*api.Job, error) {
			return c.SubmitURL(t.Context(), "https://example.com/a.pdf", Options{OCR: "off"})
		}, `{"source":{"url":"https://example.com/a.pdf"},"options":{"ocr":"off"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{steps: []func(http.ResponseWriter, *http.Request){jobStep(http.StatusAccepted, api.Job{JobID: "job_1", Status: StatusQueued})}}
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			if _, err := tt.submit(newTestClient(t, srv)); err != nil {
				t.Fatal(err)
			}
			r := s.reqs[0]
			if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Idempotency-Key") == "" {
				t.Fatalf("headers %v", r.Header)
			}
			if string(s.bodys[0]) != tt.want {
				t.Fatalf("body %s, want %s", s.bodys[0], tt.want)
			}
		})
	}
}

// TestWait: Wait long-polls with ?wait= until the job ends and returns it.
func TestWait(t *testing.T) {
	statuses := []string{StatusQueued, StatusRunning, StatusRunning, StatusFailed}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("wait") != "45s" {
			t.Errorf("wait=%q", r.URL.Query().Get("wait"))
		}
		n := int(calls.Add(1)) - 1
		j := api.Job{JobID: "job_1", Status: statuses[min(n, len(statuses)-1)]}
		if j.Status == StatusFailed {
			j.Error = &api.JobError{Code: api.CodeProcessingError, Message: "broken"}
		}
		jobStep(200, j)(w, r)
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv, WithPollWait(45*time.Second))
	j, err := c.Wait(t.Context(), "job_1")
	if err != nil || j.Status != StatusFailed || j.Error == nil || j.Error.Code != api.CodeProcessingError {
		t.Fatalf("Wait: %+v, %v", j, err)
	}
	if calls.Load() != 4 {
		t.Fatalf("%d polls, want 4", calls.Load())
	}
}

// TestWaitContext: Wait returns once its context ends, in the middle of a
// long poll, with the context's error.
func TestWaitContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		jobStep(200, api.Job{JobID: "job_1", Status: StatusRunning})(w, r)
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv)
	tests := []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		wantIs error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			j, err := c.Wait(ctx, "job_1")
			if !errors.Is(err, tt.wantIs) || j != nil {
				t.Fatalf("Wait: %+v, %v; want %v", j, err, tt.wantIs)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("Wait returned %v after the context ended", d)
			}
		})
	}
}

func TestResultCancelList(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/jobs/{id}/result", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "job_running" {
			apiErrorStep(409, api.CodeJobNotFinished, "")(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/markdown")
		io.WriteString(w, "# "+r.URL.Query().Get("format"))
	})
	mux.HandleFunc("DELETE /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		jobStep(200, api.Job{JobID: r.PathValue("id"), Status: StatusCanceled})(w, r)
	})
	mux.HandleFunc("GET /api/v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		l := api.JobList{Jobs: []api.Job{{JobID: "job_" + q.Get("limit") + q.Get("cursor")}}, NextCursor: "next"}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(l)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv)
	ctx := t.Context()

	if b, err := c.ResultBytes(ctx, "job_1", FormatHTML); err != nil || string(b) != "# html" {
		t.Fatalf("result: %q %v", b, err)
	}
	if _, err := c.Result(ctx, "job_running", ""); Code(err) != api.CodeJobNotFinished {
		t.Fatalf("result of a running job: %v", err)
	}
	if j, err := c.Cancel(ctx, "job_1"); err != nil || j.Status != StatusCanceled || j.JobID != "job_1" {
		t.Fatalf("cancel: %+v %v", j, err)
	}
	l, err := c.List(ctx, ListOptions{Limit: 5, Cursor: "c1"})
	if err != nil || len(l.Jobs) != 1 || l.Jobs[0].JobID != "job_5c1" || l.NextCursor != "next" {
		t.Fatalf("list: %+v %v", l, err)
	}
}

func TestTerminal(t *testing.T) {
	tests := []struct {
		name, status string
		want         bool
	}{
		{"queued", StatusQueued, false},
		{"running", StatusRunning, false},
		{"succeeded", StatusSucceeded, true},
		{"failed", StatusFailed, true},
		{"canceled", StatusCanceled, true},
		{"unknown", "paused", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if Terminal(tt.status) != tt.want {
				t.Fatalf("Terminal(%q) = %v", tt.status, !tt.want)
			}
		})
	}
}
