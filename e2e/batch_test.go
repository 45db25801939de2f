package e2e

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// batchForm is a multipart body with one "file" part per document.
func batchForm(t *testing.T, files map[string][]byte, order []string, fields map[string]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, name := range order {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(files[name])
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func (s *stack) batch(cred, path string, body []byte, ct string) *response {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if cred == "" {
		return s.do(anonymous(req))
	}
	req.Header.Set("Authorization", "Bearer "+cred)
	return s.do(req)
}

func (s *stack) getBatch(cred, id string) (api.Batch, *response) {
	s.t.Helper()
	r := s.as(cred, http.MethodGet, "/api/v1/batches/"+id, nil, "")
	var b api.Batch
	if r.status == http.StatusOK {
		r.json(s.t, &b)
	}
	return b, r
}

func (s *stack) waitBatch(cred, id string, within time.Duration) api.Batch {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, r := s.getBatch(cred, id)
		if r.status != http.StatusOK {
			s.t.Fatalf("GET batch: %d %s", r.status, r.body)
		}
		if b.Counts.Queued+b.Counts.Running == 0 {
			return b
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("batch not finished after %v: %+v", within, b.Counts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *stack) usedQuota(cred string) int64 {
	s.t.Helper()
	var u struct {
		Quota struct {
			Used int64 `json:"used"`
		} `json:"quota"`
	}
	s.as(cred, http.MethodGet, "/api/v1/usage", nil, "").json(s.t, &u)
	return u.Quota.Used
}

// TestBatches: many documents in one call (multipart files, or URLs and
// uploads), the aggregate status, all-or-nothing refusals that store and
// count nothing, the per-tier count, the free tier, and tenant isolation.
func TestBatches(t *testing.T) {
	origin := httptest.NewServer(http.FileServer(http.Dir("../scheduler/extract/testdata")))
	t.Cleanup(origin.Close)
	s := startStack(t, "DOCSTRANGE_URL_ALLOW=127.0.0.1/32")
	user := s.issueKey("batcher", "api_key")
	pdf := readFile(t, helloPDF)

	t.Run("multipart files", func(t *testing.T) {
		body, ct := batchForm(t, map[string][]byte{"a.pdf": pdf, "b.pdf": makePDF(3), "c.txt": []byte("plain text\n")}, []string{"a.pdf", "b.pdf", "c.txt"},
			map[string]string{"output_formats": "markdown,json"})
		before := s.usedQuota(user.Key)
		r := s.batch(user.Key, "/api/v1/batches", body, ct)
		if r.status != http.StatusAccepted {
			t.Fatalf("POST batches: %d %s", r.status, r.body)
		}
		var b api.Batch
		r.json(t, &b)
		if b.Total != 3 || len(b.Jobs) != 3 || r.header.Get("Location") != "/api/v1/batches/"+b.ID || !strings.HasPrefix(b.ID, "batch_") {
			t.Fatalf("batch = %+v, Location %q", b, r.header.Get("Location"))
		}
		for i, name := range []string{"a.pdf", "b.pdf", "c.txt"} {
			if b.Jobs[i].Filename != name || b.Jobs[i].BatchID != b.ID {
				t.Errorf("job %d = %s in %q; want %s in %s", i, b.Jobs[i].Filename, b.Jobs[i].BatchID, name, b.ID)
			}
		}
		if got := s.usedQuota(user.Key) - before; got != 3 {
			t.Errorf("quota used by the batch = %d; want 3", got)
		}
		done := s.waitBatch(user.Key, b.ID, 60*time.Second)
		if done.Status != "succeeded" || done.Counts.Succeeded != 3 || done.Progress.PagesDone != done.Progress.PagesTotal || done.Progress.PagesTotal != 5 {
			t.Fatalf("finished batch = %+v", done)
		}
		res := s.as(user.Key, http.MethodGet, "/api/v1/jobs/"+done.Jobs[0].JobID+"/result?format=markdown", nil, "")
		if !strings.Contains(string(res.body), "Hello Mesh") {
			t.Errorf("first job's result: %s", res.body)
		}
		// Another tenant sees no such batch.
		if _, r := s.getBatch(s.key, b.ID); r.status != http.StatusNotFound || !strings.Contains(string(r.body), api.CodeBatchNotFound) {
			t.Errorf("another tenant's GET: %d %s", r.status, r.body)
		}
	})

	t.Run("sources by url and upload", func(t *testing.T) {
		loc, r := s.tusUpload(user.Key, pdf, meta("filename", "up.pdf"))
		if r.status != http.StatusNoContent {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		body := fmt.Sprintf(`{"sources":[{"url":%q},{"upload_id":%q}],"options":{"ocr":"off"}}`, origin.URL+"/hello.pdf", path.Base(loc))
		r = s.batch(user.Key, "/api/v1/batches", []byte(body), "application/json")
		if r.status != http.StatusAccepted {
			t.Fatalf("POST batches: %d %s", r.status, r.body)
		}
		var b api.Batch
		r.json(t, &b)
		if done := s.waitBatch(user.Key, b.ID, 60*time.Second); done.Status != "succeeded" || done.Total != 2 {
			t.Fatalf("finished batch = %+v", done)
		}
	})

	t.Run("several files on documents make a batch", func(t *testing.T) {
		body, ct := batchForm(t, map[string][]byte{"a.pdf": pdf, "b.pdf": pdf}, []string{"a.pdf", "b.pdf"}, nil)
		r := s.batch(user.Key, "/api/v1/documents", body, ct)
		var b api.Batch
		r.json(t, &b)
		if r.status != http.StatusAccepted || b.Total != 2 || !strings.HasPrefix(r.header.Get("Location"), "/api/v1/batches/") {
			t.Fatalf("two files on /documents: %d %s", r.status, r.body)
		}
	})

	t.Run("all or nothing", func(t *testing.T) {
		before := s.usedQuota(user.Key)
		list := func() int {
			var l api.JobList
			s.as(user.Key, http.MethodGet, "/api/v1/jobs?limit=100", nil, "").json(t, &l)
			return len(l.Jobs)
		}
		jobsBefore := list()
		inputsBefore := s.storedInputs()
		body, ct := batchForm(t, map[string][]byte{"good.pdf": pdf, "junk.bin": {0x00, 0x01, 0x02, 0xff, 0xfe}}, []string{"good.pdf", "junk.bin"}, nil)
		e := wantError(t, s.batch(user.Key, "/api/v1/batches", body, ct), http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType)
		if e.Error.Details["index"] != float64(1) || e.Error.Details["filename"] != "junk.bin" {
			t.Errorf("details = %v; want index 1, junk.bin", e.Error.Details)
		}
		body, ct = batchForm(t, map[string][]byte{"a.pdf": pdf, "b.pdf": pdf}, []string{"a.pdf", "b.pdf"}, map[string]string{"ocr": "sometimes"})
		wantError(t, s.batch(user.Key, "/api/v1/batches", body, ct), http.StatusBadRequest, api.CodeInvalidRequest)
		e = wantError(t, s.batch(user.Key, "/api/v1/batches", []byte(`{"sources":[{"url":"`+origin.URL+`/hello.pdf"},{"url":"http://169.254.169.254/x"}]}`), "application/json"),
			http.StatusBadRequest, api.CodeURLNotAllowed)
		if e.Error.Details["index"] != float64(1) {
			t.Errorf("details = %v; want index 1", e.Error.Details)
		}
		// A second JSON value after the batch is refused, not ignored.
		e = wantError(t, s.batch(user.Key, "/api/v1/batches", []byte(`{"sources":[{"url":"`+origin.URL+`/hello.pdf"}]} {"sources":[]}`), "application/json"),
			http.StatusBadRequest, api.CodeInvalidRequest)
		if e.Error.Details["field"] != "body" {
			t.Errorf("details = %v; want field body", e.Error.Details)
		}
		if s.usedQuota(user.Key) != before || list() != jobsBefore {
			t.Errorf("a refused batch counted %d documents and left %d jobs", s.usedQuota(user.Key)-before, list()-jobsBefore)
		}
		if n := s.storedInputs(); n != inputsBefore {
			t.Errorf("refused batches left %d stored inputs", n-inputsBefore)
		}
	})

	t.Run("per-tier count", func(t *testing.T) {
		var srcs []string
		for range 101 {
			srcs = append(srcs, `{"url":"`+origin.URL+`/hello.pdf"}`)
		}
		e := wantError(t, s.batch(user.Key, "/api/v1/batches", []byte(`{"sources":[`+strings.Join(srcs, ",")+`]}`), "application/json"),
			http.StatusBadRequest, api.CodeBatchTooLarge)
		if e.Error.Details["max_batch_size"] != float64(100) {
			t.Errorf("details = %v", e.Error.Details)
		}
	})

	t.Run("free tier", func(t *testing.T) {
		body, ct := batchForm(t, map[string][]byte{"a.pdf": pdf, "b.pdf": pdf}, []string{"a.pdf", "b.pdf"}, nil)
		for _, p := range []string{"/api/v1/batches", "/api/v1/documents"} {
			e := wantError(t, s.batch("", p, body, ct), http.StatusForbidden, api.CodeForbidden)
			if e.Error.Details["feature"] != "batch" {
				t.Errorf("%s: details = %v", p, e.Error.Details)
			}
		}
	})
}

// storedInputs counts the job folders in the stack's blob store: a refused
// submission must leave none behind.
func (s *stack) storedInputs() int {
	s.t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.dataDir, "blobs", "jobs"))
	if err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	return len(entries)
}

// TestBatchCancel: cancelling a batch cancels its jobs that have not run.
func TestBatchCancel(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WORKERS=-1")
	pdf := readFile(t, helloPDF)
	body, ct := batchForm(t, map[string][]byte{"a.pdf": pdf, "b.pdf": makePDF(2)}, []string{"a.pdf", "b.pdf"}, nil)
	r := s.batch(s.key, "/api/v1/batches", body, ct)
	var b api.Batch
	r.json(t, &b)
	if r.status != http.StatusAccepted || b.Status != "queued" || b.Counts.Queued != 2 {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	other := s.issueKey("other", "enterprise")
	if r := s.as(other.Key, http.MethodDelete, "/api/v1/batches/"+b.ID, nil, ""); r.status != http.StatusNotFound {
		t.Fatalf("another tenant's cancel: %d %s", r.status, r.body)
	}
	r = s.as(s.key, http.MethodDelete, "/api/v1/batches/"+b.ID, nil, "")
	var c api.Batch
	r.json(t, &c)
	if r.status != http.StatusOK || c.Status != "canceled" || c.Counts.Canceled != 2 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	for _, j := range c.Jobs {
		if got := s.get("/api/v1/jobs/" + j.JobID); !strings.Contains(string(got.body), `"status":"canceled"`) {
			t.Errorf("job %s after the batch cancel: %s", j.JobID, got.body)
		}
	}
	// Cancelling again is harmless: the jobs are already finished.
	if r := s.as(s.key, http.MethodDelete, "/api/v1/batches/"+b.ID, nil, ""); r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":"canceled"`) {
		t.Fatalf("second cancel: %d %s", r.status, r.body)
	}
}
