package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
)

const helloPDF = "../scheduler/extract/testdata/hello.pdf"

func TestDocumentLifecycle(t *testing.T) {
	s := startStack(t)
	pdf := readFile(t, helloPDF)

	job := s.submitOK("hello.pdf", pdf, map[string]string{"output_formats": "markdown,json"})
	if job.Status != "queued" || job.CreatedAt.IsZero() || job.Links.Result != "/api/v1/jobs/"+job.JobID+"/result" {
		t.Fatalf("accepted job: %+v", job)
	}
	done := s.waitFor(job.JobID, 60*time.Second)
	if done.Status != "succeeded" || done.Progress.PagesDone != 1 || done.Progress.PagesTotal != 1 || done.Attempts != 1 {
		t.Fatalf("finished job: %+v", done)
	}

	t.Run("markdown", func(t *testing.T) {
		r := s.get("/api/v1/jobs/" + job.JobID + "/result")
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/markdown") {
			t.Fatalf("%d %s: %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		md := string(r.body)
		for _, want := range []string{"Hello Mesh", "DocStrange Mesh turns documents into text.", "The second paragraph follows after a gap and ends here."} {
			if !strings.Contains(md, want) {
				t.Errorf("markdown lacks %q:\n%s", want, md)
			}
		}
		if !strings.Contains(md, "# Hello Mesh") {
			t.Errorf("title is not a heading:\n%s", md)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := s.get("/api/v1/jobs/" + job.JobID + "/result?format=json")
		var doc scheduler.Document
		r.json(t, &doc)
		if doc.PageCount != 1 || len(doc.Pages) != 1 || doc.Pages[0].Number != 1 || doc.JobID != job.JobID {
			t.Fatalf("document: %+v", doc)
		}
		if doc.SourceSHA256 != done.SHA256 || len(doc.SourceSHA256) != 64 {
			t.Fatalf("source hash %q, job %q", doc.SourceSHA256, done.SHA256)
		}
		blocks := doc.Pages[0].Blocks
		if len(blocks) < 3 {
			t.Fatalf("want title and two paragraphs, got %+v", blocks)
		}
		for _, b := range blocks {
			if b.Source != scheduler.SourceTextLayer || b.BBox == nil || b.BBox.X1 <= b.BBox.X0 || b.BBox.Y1 <= b.BBox.Y0 || b.Text == "" {
				t.Errorf("block without text, source or box: %+v", b)
			}
		}
		if doc.Backend == "" || doc.BackendVersion == "" {
			t.Errorf("backend not named: %q %q", doc.Backend, doc.BackendVersion)
		}
	})
	t.Run("text and html", func(t *testing.T) {
		r := s.get("/api/v1/jobs/" + job.JobID + "/result?format=text")
		if !strings.Contains(string(r.body), "Hello Mesh") || strings.Contains(string(r.body), "#") {
			t.Errorf("text: %s", r.body)
		}
		r = s.get("/api/v1/jobs/" + job.JobID + "/result?format=html")
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "Hello Mesh") {
			t.Errorf("html: %s", r.body)
		}
		r = s.get("/api/v1/jobs/" + job.JobID + "/result?format=docx")
		if r.status != http.StatusBadRequest || r.apiError(t).Error.Details["field"] != "format" {
			t.Errorf("unknown format: %d %s", r.status, r.body)
		}
	})
	t.Run("list", func(t *testing.T) {
		second := s.submitOK("again.pdf", pdf, nil)
		r := s.get("/api/v1/jobs?limit=1")
		var page api.JobList
		r.json(t, &page)
		if len(page.Jobs) != 1 || page.Jobs[0].JobID != second.JobID || page.NextCursor == "" {
			t.Fatalf("first page: %s", r.body)
		}
		r = s.get("/api/v1/jobs?limit=1&cursor=" + page.NextCursor)
		r.json(t, &page)
		if len(page.Jobs) != 1 || page.Jobs[0].JobID != job.JobID {
			t.Fatalf("second page: %s", r.body)
		}
		s.waitFor(second.JobID, 60*time.Second)
	})
	t.Run("events", func(t *testing.T) {
		r := s.get("/api/v1/jobs/" + job.JobID + "/events")
		if r.header.Get("Content-Type") != "text/event-stream" || !strings.Contains(string(r.body), `"status":"succeeded"`) {
			t.Fatalf("events: %s %s", r.header.Get("Content-Type"), r.body)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		r := s.get("/metrics")
		for _, want := range []string{`docstrange_jobs_total{state="succeeded"}`, "docstrange_queue_depth", `docstrange_http_requests_total{route="POST /api/v1/documents"`, "docstrange_job_duration_seconds_bucket"} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})

	// The stack restarts; the finished result is still served.
	s.restart()
	r := s.get("/api/v1/jobs/" + job.JobID + "/result?format=markdown")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Hello Mesh") {
		t.Fatalf("after restart: %d %s", r.status, r.body)
	}
}

func TestBadInput(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_MAX_UPLOAD=64KiB", "DOCSTRANGE_MAX_PAGES=2")
	pdf := readFile(t, helloPDF)
	random := make([]byte, 4096)
	rand.Read(random)
	big := bytes.Repeat([]byte("x"), 200<<10)

	tests := []struct {
		name   string
		file   string
		data   []byte
		fields map[string]string
		status int
		code   string
		field  string
	}{
		{name: "random bytes named pdf", file: "scan.pdf", data: random, status: 415, code: api.CodeUnsupportedMediaType},
		{name: "unknown option", file: "a.pdf", data: pdf, fields: map[string]string{"options": `{"colour":"red"}`}, status: 400, code: api.CodeInvalidRequest, field: "colour"},
		{name: "bad ocr value", file: "a.pdf", data: pdf, fields: map[string]string{"ocr": "sometimes"}, status: 400, code: api.CodeInvalidRequest, field: "ocr"},
		{name: "bad output format", file: "a.pdf", data: pdf, fields: map[string]string{"output_formats": "docx"}, status: 400, code: api.CodeInvalidRequest, field: "output_formats"},
		{name: "pages past the end", file: "a.pdf", data: pdf, fields: map[string]string{"pages": "1-3"}, status: 400, code: api.CodeInvalidRequest, field: "pages"},
		{name: "unknown field", file: "a.pdf", data: pdf, fields: map[string]string{"colour": "red"}, status: 400, code: api.CodeInvalidRequest, field: "colour"},
		{name: "corrupt pdf", file: "c.pdf", data: readFile(t, "../scheduler/extract/testdata/corrupt.pdf"), status: 422, code: api.CodeUnprocessableDocument},
		{name: "encrypted pdf", file: "e.pdf", data: readFile(t, "../scheduler/extract/testdata/encrypted.pdf"), status: 422, code: api.CodeUnprocessableDocument},
		{name: "image before OCR", file: "a.png", data: append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...), status: 415, code: api.CodeUnsupportedMediaType},
		{name: "too many pages", file: "p.pdf", data: readFile(t, "../scheduler/extract/testdata/pages.pdf"), status: 422, code: api.CodeTooManyPages},
		{name: "ocr force without a backend", file: "a.pdf", data: pdf, fields: map[string]string{"ocr": "force"}, status: 400, code: api.CodeInvalidRequest, field: "ocr"},
		{name: "empty file", file: "a.pdf", data: nil, status: 400, code: api.CodeInvalidRequest, field: "file"},
		{name: "too large while streaming", file: "big.txt", data: big, status: 413, code: api.CodeFileTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.submit(tt.file, tt.data, tt.fields)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			env := r.apiError(t)
			if env.Error.Code != tt.code {
				t.Fatalf("code %s, want %s", env.Error.Code, tt.code)
			}
			if tt.field != "" && env.Error.Details["field"] != tt.field {
				t.Fatalf("field %v, want %s: %s", env.Error.Details["field"], tt.field, r.body)
			}
		})
	}

	t.Run("too large from content-length", func(t *testing.T) {
		// An api_key body may carry a batch of up to 100 documents of
		// 64 KiB each: 10 MiB is more than that, refused before reading.
		req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/documents", io.LimitReader(zeros{}, 10<<20))
		req.ContentLength = 10 << 20
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		req.Header.Set("Authorization", "Bearer "+s.issueKey("bad-input", "api_key").Key)
		r := s.do(req)
		env := r.apiError(t)
		if r.status != 413 || env.Error.Code != api.CodeFileTooLarge || env.Error.Details["max_size"] != float64(64<<10) || env.Error.Details["file_size"] != float64(10<<20) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("malformed multipart", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/documents", strings.NewReader("--x\r\nnot a header\r\n\r\n"))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		r := s.do(req)
		if r.status != 400 || r.apiError(t).Error.Code != api.CodeInvalidRequest {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("unknown job", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/jobs/job_doesnotexist", nil)
		req.Header.Set("X-Request-ID", "client-chosen-id-1")
		r := s.do(req)
		env := r.apiError(t)
		if r.status != 404 || env.Error.Code != api.CodeJobNotFound || env.RequestID != "client-chosen-id-1" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("unknown route and method", func(t *testing.T) {
		r := s.get("/nope")
		if r.status != 404 || r.apiError(t).Error.Code != api.CodeNotFound {
			t.Fatalf("%d %s", r.status, r.body)
		}
		r = s.delete("/api/v1/documents")
		if r.status != 405 || r.apiError(t).Error.Code != api.CodeMethodNotAllowed || r.header.Get("Allow") != "POST" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("ill-formed request id is replaced", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/health/live", nil)
		req.Header.Set("X-Request-ID", "bad id\twith spaces")
		r := s.do(req)
		if id := r.header.Get("X-Request-ID"); !strings.HasPrefix(id, "req_") {
			t.Fatalf("request id %q", id)
		}
	})
	// Nothing refused left an artifact behind.
	r := s.get("/api/v1/jobs")
	var page api.JobList
	r.json(t, &page)
	if len(page.Jobs) != 0 {
		t.Fatalf("refused submissions created jobs: %s", r.body)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestCancel(t *testing.T) {
	t.Run("queued job never runs", func(t *testing.T) {
		s := startStack(t, "DOCSTRANGE_WORKERS=-1")
		job := s.submitOK("hello.pdf", readFile(t, helloPDF), nil)
		r := s.delete("/api/v1/jobs/" + job.JobID)
		var j api.Job
		r.json(t, &j)
		if r.status != 200 || j.Status != "canceled" || j.StartedAt.IsZero() == false || j.Attempts != 0 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		r = s.delete("/api/v1/jobs/" + job.JobID)
		if r.status != 409 || r.apiError(t).Error.Code != api.CodeJobFinished {
			t.Fatalf("second cancel: %d %s", r.status, r.body)
		}
		r = s.get("/api/v1/jobs/" + job.JobID + "/result")
		if r.status != 409 {
			t.Fatalf("result of canceled job: %d %s", r.status, r.body)
		}
	})
	t.Run("running job stops within 2s", func(t *testing.T) {
		s := startStack(t, "DOCSTRANGE_WORKERS=1")
		job := s.submitOK("long.pdf", makePDF(1500), nil)
		// Wait until it runs and has made progress.
		deadline := time.Now().Add(60 * time.Second)
		for {
			var j api.Job
			s.get("/api/v1/jobs/"+job.JobID).json(t, &j)
			if j.Status == "running" && j.Progress.PagesDone > 0 {
				break
			}
			if j.Status != "queued" && j.Status != "running" || time.Now().After(deadline) {
				t.Fatalf("job did not start running: %+v", j)
			}
			time.Sleep(50 * time.Millisecond)
		}
		start := time.Now()
		r := s.delete("/api/v1/jobs/" + job.JobID)
		var j api.Job
		r.json(t, &j)
		if j.Status != "canceled" {
			j = s.waitFor(job.JobID, 5*time.Second)
		}
		if took := time.Since(start); j.Status != "canceled" || took > 2*time.Second {
			t.Fatalf("status %s after %s", j.Status, took)
		}
		if j.Progress.PagesDone >= j.Progress.PagesTotal {
			t.Fatalf("job ran to the end: %+v", j.Progress)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WORKERS=-1")
	send := func(fields ...string) (*response, api.Job) {
		f := map[string]string{}
		for i := 0; i+1 < len(fields); i += 2 {
			f[fields[i]] = fields[i+1]
		}
		body, ct := multipartBody(t, "hello.pdf", readFile(t, helloPDF), f)
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.base+"/api/v1/documents", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Idempotency-Key", "order-42")
		r := s.do(req)
		var j api.Job
		json.Unmarshal(r.body, &j)
		return r, j
	}
	r1, j1 := send()
	r2, j2 := send()
	if r1.status != 202 || r2.status != 202 || j1.JobID == "" || j1.JobID != j2.JobID || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d %s, second %d %s", r1.status, r1.body, r2.status, r2.body)
	}
	// The same options spelled differently are the same request.
	if r, j := send("output_formats", "markdown"); r.status != 202 || j.JobID != j1.JobID {
		t.Fatalf("same request, options spelled out: %d %s", r.status, r.body)
	}
	// The same key for other options, or another document, is refused.
	r3, _ := send("pages", "1")
	env := wantError(t, r3, http.StatusUnprocessableEntity, api.CodeIdempotencyKeyReused)
	if env.Error.Details["job_id"] != j1.JobID {
		t.Fatalf("422 details %v", env.Error.Details)
	}
	body, ct := multipartBody(t, "other.txt", []byte("another document"), nil)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.base+"/api/v1/documents", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Idempotency-Key", "order-42")
	wantError(t, s.do(req), http.StatusUnprocessableEntity, api.CodeIdempotencyKeyReused)
}

func TestResultExpires(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_RESULT_TTL=1s", "DOCSTRANGE_CLEANUP_INTERVAL=200ms")
	job := s.submitOK("hello.pdf", readFile(t, helloPDF), nil)
	if j := s.waitFor(job.JobID, 60*time.Second); j.Status != "succeeded" {
		t.Fatalf("job %+v", j)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.get("/api/v1/jobs/" + job.JobID + "/result")
		if r.status == http.StatusGone {
			if env := r.apiError(t); env.Error.Code != api.CodeResultExpired {
				t.Fatalf("code %s", env.Error.Code)
			}
			break
		}
		if r.status != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("result still %d after TTL: %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The record stays, so the client learns why.
	if r := s.get("/api/v1/jobs/" + job.JobID); r.status != http.StatusOK {
		t.Fatalf("status after expiry: %d %s", r.status, r.body)
	}
	// The record is marked expired before the artifacts are deleted (so
	// that a crash between the two repeats the deletion), and the 410 can
	// come in between: wait for them to go.
	waitUntil(t, 10*time.Second, "the artifacts' deletion after expiry", func() bool {
		entries, err := os.ReadDir(filepath.Join(s.dataDir, "blobs", "jobs"))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries) == 0
	})
}
