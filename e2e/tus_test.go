package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// tusReq builds a tus request with Tus-Resumable set, from cred ("" is
// anonymous).
func (s *stack) tusReq(cred, method, url string, body []byte, headers map[string]string) *response {
	s.t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = s.base + url
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req = anonymous(req)
	req.Header.Set("Tus-Resumable", "1.0.0")
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	return s.do(req)
}

// tusCreate creates an upload of length bytes and returns its URL path.
func (s *stack) tusCreate(cred string, length int, meta string) string {
	s.t.Helper()
	r := s.tusReq(cred, http.MethodPost, "/api/v1/uploads/", nil, map[string]string{
		"Upload-Length": strconv.Itoa(length), "Upload-Metadata": meta,
	})
	if r.status != http.StatusCreated {
		s.t.Fatalf("creating an upload: %d %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	if !strings.Contains(loc, "/api/v1/uploads/") {
		s.t.Fatalf("Location %q", loc)
	}
	if _, err := http.ParseTime(r.header.Get("Upload-Expires")); err != nil {
		s.t.Fatalf("Upload-Expires %q on a new upload", r.header.Get("Upload-Expires"))
	}
	return loc
}

func meta(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// TestTusProtocol drives the tus 1.0.0 protocol with Go's HTTP client: the
// refusals a client can cause, each in the error shape with tus' status,
// and the extensions working.
func TestTusProtocol(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WORKERS=-1")
	spy := s.issueKey("spy", "enterprise")

	t.Run("discovery", func(t *testing.T) {
		r := s.tusReq("", http.MethodOptions, "/api/v1/uploads/", nil, nil)
		if r.status != http.StatusOK && r.status != http.StatusNoContent {
			t.Fatalf("OPTIONS: %d %s", r.status, r.body)
		}
		ext := r.header.Get("Tus-Extension")
		for _, want := range []string{"creation", "creation-with-upload", "creation-defer-length", "termination", "concatenation", "expiration"} {
			if !strings.Contains(","+ext+",", ","+want+",") {
				t.Errorf("Tus-Extension %q lacks %s", ext, want)
			}
		}
		if r.header.Get("Tus-Version") != "1.0.0" || r.header.Get("Tus-Max-Size") == "" {
			t.Errorf("discovery headers %v", r.header)
		}
	})

	refusals := []struct {
		name    string
		cred    string
		headers map[string]string
		status  int
		code    string
	}{
		{"no Tus-Resumable", s.key, map[string]string{"Tus-Resumable": "", "Upload-Length": "10"}, http.StatusPreconditionFailed, api.CodeTusVersion},
		{"non-numeric length", s.key, map[string]string{"Upload-Length": "ten"}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"negative length", s.key, map[string]string{"Upload-Length": "-1"}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"over the free tier", "", map[string]string{"Upload-Length": strconv.Itoa(10<<20 + 1)}, http.StatusRequestEntityTooLarge, api.CodeFileTooLarge},
		{"over the deployment", s.key, map[string]string{"Upload-Length": strconv.Itoa(1<<30 + 1)}, http.StatusRequestEntityTooLarge, api.CodeFileTooLarge},
		{"metadata header too large", s.key, map[string]string{"Upload-Length": "10", "Upload-Metadata": meta("filename", strings.Repeat("a", 5000))}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"metadata value too large", s.key, map[string]string{"Upload-Length": "10", "Upload-Metadata": meta("note", strings.Repeat("a", 2000))}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"reserved metadata key", s.key, map[string]string{"Upload-Length": "10", "Upload-Metadata": meta("docstrange_owner", "victim")}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"bad filetype", s.key, map[string]string{"Upload-Length": "10", "Upload-Metadata": meta("filetype", "<script>")}, http.StatusBadRequest, api.CodeInvalidRequest},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r := s.tusReq(tt.cred, http.MethodPost, "/api/v1/uploads/", nil, tt.headers)
			wantError(t, r, tt.status, tt.code)
		})
	}

	t.Run("offsets, ownership and termination", func(t *testing.T) {
		loc := s.tusCreate(s.key, 10, meta("filename", "../../etc/scan.pdf", "filetype", "application/pdf"))
		r := s.tusReq(s.key, http.MethodPatch, loc, []byte("hello"), map[string]string{"Upload-Offset": "3"})
		wantError(t, r, http.StatusConflict, api.CodeUploadOffsetMismatch)
		r = s.tusReq(s.key, http.MethodPatch, loc, []byte("hello"), map[string]string{"Upload-Offset": "zero"})
		wantError(t, r, http.StatusBadRequest, api.CodeInvalidRequest)
		r = s.tusReq(s.key, http.MethodPatch, loc, []byte("hello"), map[string]string{"Upload-Offset": "0", "Content-Type": "text/plain"})
		if r.status < 400 {
			t.Fatalf("PATCH with a wrong Content-Type: %d", r.status)
		}
		r = s.tusReq(s.key, http.MethodPatch, loc, []byte("hello"), map[string]string{"Upload-Offset": "0"})
		if r.status != http.StatusNoContent || r.header.Get("Upload-Offset") != "5" {
			t.Fatalf("PATCH: %d %v %s", r.status, r.header, r.body)
		}
		r = s.tusReq(s.key, http.MethodHead, loc, nil, nil)
		if r.status != http.StatusOK || r.header.Get("Upload-Offset") != "5" || r.header.Get("Upload-Length") != "10" || r.header.Get("Upload-Expires") == "" {
			t.Fatalf("HEAD: %d %v", r.status, r.header)
		}
		if !strings.Contains(r.header.Get("Upload-Metadata"), "filename "+base64.StdEncoding.EncodeToString([]byte("scan.pdf"))) {
			t.Fatalf("filename not sanitised: %q", r.header.Get("Upload-Metadata"))
		}
		// Another tenant, or nobody, cannot see, write or delete it.
		for _, cred := range []string{spy.Key, ""} {
			// A HEAD answer has no body: the status is all there is.
			if r := s.tusReq(cred, http.MethodHead, loc, nil, nil); r.status != http.StatusNotFound {
				t.Fatalf("HEAD by another tenant: %d", r.status)
			}
			wantError(t, s.tusReq(cred, http.MethodPatch, loc, []byte("evil!"), map[string]string{"Upload-Offset": "5"}), http.StatusNotFound, api.CodeUploadNotFound)
			wantError(t, s.tusReq(cred, http.MethodDelete, loc, nil, nil), http.StatusNotFound, api.CodeUploadNotFound)
		}
		r = s.tusReq(s.key, http.MethodPatch, loc, []byte("world"), map[string]string{"Upload-Offset": "5"})
		if r.status != http.StatusNoContent || r.header.Get("Upload-Offset") != "10" {
			t.Fatalf("last PATCH: %d %s", r.status, r.body)
		}
		if got := readFile(t, filepath.Join(s.dataDir, "uploads", path.Base(loc))); string(got) != "helloworld" {
			t.Fatalf("stored bytes %q", got)
		}
		if r := s.tusReq(s.key, http.MethodDelete, loc, nil, nil); r.status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", r.status, r.body)
		}
		if r := s.tusReq(s.key, http.MethodHead, loc, nil, nil); r.status != http.StatusNotFound {
			t.Fatalf("HEAD after DELETE: %d", r.status)
		}
		if _, err := os.Stat(filepath.Join(s.dataDir, "uploads", path.Base(loc))); !os.IsNotExist(err) {
			t.Fatalf("terminated upload still on disk: %v", err)
		}
	})

	t.Run("creation with upload, deferred length, concatenation", func(t *testing.T) {
		r := s.tusReq(s.key, http.MethodPost, "/api/v1/uploads/", []byte("abc"), map[string]string{"Upload-Length": "6"})
		if r.status != http.StatusCreated || r.header.Get("Upload-Offset") != "3" {
			t.Fatalf("creation-with-upload: %d %v", r.status, r.header)
		}
		r = s.tusReq(s.key, http.MethodPost, "/api/v1/uploads/", nil, map[string]string{"Upload-Defer-Length": "1"})
		if r.status != http.StatusCreated {
			t.Fatalf("deferred: %d %s", r.status, r.body)
		}
		deferred := r.header.Get("Location")
		r = s.tusReq(s.key, http.MethodPatch, deferred, []byte("12345"), map[string]string{"Upload-Offset": "0", "Upload-Length": "5"})
		if r.status != http.StatusNoContent || r.header.Get("Upload-Offset") != "5" {
			t.Fatalf("PATCH declaring the length: %d %s", r.status, r.body)
		}
		var parts []string
		for _, p := range []string{"first-", "second"} {
			r := s.tusReq(s.key, http.MethodPost, "/api/v1/uploads/", []byte(p), map[string]string{"Upload-Length": strconv.Itoa(len(p)), "Upload-Concat": "partial"})
			if r.status != http.StatusCreated {
				t.Fatalf("partial: %d %s", r.status, r.body)
			}
			parts = append(parts, r.header.Get("Location"))
		}
		r = s.tusReq(s.key, http.MethodPost, "/api/v1/uploads/", nil, map[string]string{"Upload-Concat": "final;" + strings.Join(parts, " ")})
		if r.status != http.StatusCreated {
			t.Fatalf("final: %d %s", r.status, r.body)
		}
		if got := readFile(t, filepath.Join(s.dataDir, "uploads", path.Base(r.header.Get("Location")))); string(got) != "first-second" {
			t.Fatalf("concatenated %q", got)
		}
		// Another tenant cannot concatenate someone else's partials.
		r = s.tusReq(spy.Key, http.MethodPost, "/api/v1/uploads/", nil, map[string]string{"Upload-Concat": "final;" + strings.Join(parts, " ")})
		if r.status == http.StatusCreated {
			t.Fatalf("a final upload from another tenant's partials was created: %v", r.header)
		}
	})

	t.Run("concurrent PATCHes never corrupt", func(t *testing.T) {
		const size = 4 << 20
		loc := s.tusCreate(s.key, size, "")
		a, b := make([]byte, size), make([]byte, size)
		rand.Read(a)
		rand.Read(b)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, data := range [][]byte{a, b} {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPatch, loc, bytes.NewReader(data))
				req.Header.Set("Tus-Resumable", "1.0.0")
				req.Header.Set("Content-Type", "application/offset+octet-stream")
				req.Header.Set("Upload-Offset", "0")
				req.Header.Set("Authorization", "Bearer "+s.key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					// The edge answered the interrupted PATCH before the
					// client finished sending, and closed the connection.
					statuses[i] = -1
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		// tusd's lock protocol: the newcomer asks the holder to stop (the
		// holder answers 400 ERR_UPLOAD_INTERRUPTED, keeping what it
		// wrote), then takes the lock and finds the offset moved (409), or
		// times out waiting (500 lock timeout). Never both 204.
		won := 0
		for _, st := range statuses {
			switch st {
			case http.StatusNoContent:
				won++
			case -1, http.StatusBadRequest, http.StatusConflict, http.StatusLocked, http.StatusInternalServerError:
			default:
				t.Fatalf("PATCH status %d", st)
			}
		}
		if won > 1 {
			t.Fatalf("statuses %v: both PATCHes claim success", statuses)
		}
		stored := readFile(t, filepath.Join(s.dataDir, "uploads", path.Base(loc)))
		r := s.tusReq(s.key, http.MethodHead, loc, nil, nil)
		off, _ := strconv.Atoi(r.header.Get("Upload-Offset"))
		if off != len(stored) {
			t.Fatalf("Upload-Offset %d, %d bytes stored", off, len(stored))
		}
		// Whatever was stored is a prefix of one request's bytes, never a mix.
		if len(stored) == 0 || !bytes.HasPrefix(a, stored) && !bytes.HasPrefix(b, stored) {
			t.Fatalf("stored bytes mix both PATCHes (statuses %v)", statuses)
		}
		t.Logf("statuses %v, %d bytes stored", statuses, len(stored))
	})
}

// TestTusExpiry: an unfinished upload carries Upload-Expires, is gone
// (410) once that passes, and the cleanup loop deletes its files.
func TestTusExpiry(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WORKERS=-1", "DOCSTRANGE_UPLOAD_EXPIRY=2s", "DOCSTRANGE_UPLOAD_CLEANUP_INTERVAL=200ms")
	loc := s.tusCreate(s.key, 10, "")
	r := s.tusReq(s.key, http.MethodHead, loc, nil, nil)
	exp, err := http.ParseTime(r.header.Get("Upload-Expires"))
	if err != nil || time.Until(exp) > 3*time.Second {
		t.Fatalf("Upload-Expires %q", r.header.Get("Upload-Expires"))
	}
	file := filepath.Join(s.dataDir, "uploads", path.Base(loc))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err1 := os.Stat(file)
		_, err2 := os.Stat(file + ".info")
		if os.IsNotExist(err1) && os.IsNotExist(err2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired upload still on disk after 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r = s.tusReq(s.key, http.MethodHead, loc, nil, nil)
	if r.status != http.StatusNotFound && r.status != http.StatusGone {
		t.Fatalf("HEAD after expiry: %d", r.status)
	}
}

// tusUpload uploads data in one PATCH and returns the upload's URL.
func (s *stack) tusUpload(cred string, data []byte, metadata string) (string, *response) {
	s.t.Helper()
	loc := s.tusCreate(cred, len(data), metadata)
	r := s.tusReq(cred, http.MethodPatch, loc, data, map[string]string{"Upload-Offset": "0"})
	return loc, r
}

// submitSource posts a JSON submission.
func (s *stack) submitSource(cred string, body string) *response {
	s.t.Helper()
	return s.as(cred, http.MethodPost, "/api/v1/documents", []byte(body), "application/json")
}

// TestJobsFromUploads: a finished upload becomes a job by upload_id, or by
// itself when its metadata asks for processing; only its owner may use it.
func TestJobsFromUploads(t *testing.T) {
	s := startStack(t)
	spy := s.issueKey("spy", "enterprise")
	pdf := readFile(t, helloPDF)

	t.Run("by upload_id", func(t *testing.T) {
		loc, r := s.tusUpload(s.key, pdf, meta("filename", "hello.pdf"))
		if r.status != http.StatusNoContent {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		uploadID := path.Base(loc)
		wantError(t, s.submitSource(spy.Key, `{"source":{"upload_id":"`+uploadID+`"}}`), http.StatusNotFound, api.CodeUploadNotFound)
		r = s.submitSource(s.key, `{"source":{"upload_id":"`+uploadID+`"},"options":{"output_formats":["markdown"]}}`)
		if r.status != http.StatusAccepted {
			t.Fatalf("submit by upload_id: %d %s", r.status, r.body)
		}
		var j api.Job
		r.json(t, &j)
		if done := s.waitFor(j.JobID, 60*time.Second); done.Status != "succeeded" {
			t.Fatalf("job: %+v", done)
		}
		res := s.get("/api/v1/jobs/" + j.JobID + "/result?format=markdown")
		if !strings.Contains(string(res.body), "Hello Mesh") {
			t.Fatalf("result: %s", res.body)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		unfinished := path.Base(s.tusCreate(s.key, 100, ""))
		tests := []struct {
			name, body string
			status     int
			code       string
		}{
			{"unfinished", `{"source":{"upload_id":"` + unfinished + `"}}`, http.StatusConflict, api.CodeUploadNotFinished},
			{"unknown upload", `{"source":{"upload_id":"nope"}}`, http.StatusNotFound, api.CodeUploadNotFound},
			{"no source", `{"options":{}}`, http.StatusBadRequest, api.CodeInvalidRequest},
			{"two sources", `{"source":{"upload_id":"a","url":"https://example.com/a.pdf"}}`, http.StatusBadRequest, api.CodeInvalidRequest},
			{"unknown field", `{"source":{"upload_id":"a"},"colour":"red"}`, http.StatusBadRequest, api.CodeInvalidRequest},
			{"bad option", `{"source":{"upload_id":"` + unfinished + `"},"options":{"ocr":"sometimes"}}`, http.StatusBadRequest, api.CodeInvalidRequest},
			{"not JSON", `{"source":`, http.StatusBadRequest, api.CodeInvalidRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantError(t, s.submitSource(s.key, tt.body), tt.status, tt.code)
			})
		}
	})

	t.Run("processed on completion", func(t *testing.T) {
		loc, r := s.tusUpload(s.key, pdf, meta("filename", "hello.pdf", "process", "true", "options", `{"output_formats":["json"]}`))
		if r.status != http.StatusNoContent {
			t.Fatalf("completing PATCH: %d %s", r.status, r.body)
		}
		jobID := r.header.Get("X-Job-ID")
		if !strings.HasPrefix(jobID, "job_") || r.header.Get("X-Job-URL") != "/api/v1/jobs/"+jobID {
			t.Fatalf("completing PATCH headers: %v", r.header)
		}
		if done := s.waitFor(jobID, 60*time.Second); done.Status != "succeeded" {
			t.Fatalf("job: %+v", done)
		}
		// The upload stays, finished, for another submission.
		if h := s.tusReq(s.key, http.MethodHead, loc, nil, nil); h.status != http.StatusOK || h.header.Get("Upload-Offset") != strconv.Itoa(len(pdf)) {
			t.Fatalf("HEAD after processing: %d %v", h.status, h.header)
		}
	})

	t.Run("refused on completion", func(t *testing.T) {
		junk := make([]byte, 2048)
		rand.Read(junk)
		loc, r := s.tusUpload(s.key, junk, meta("process", "true"))
		wantError(t, r, http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType)
		if h := s.tusReq(s.key, http.MethodHead, loc, nil, nil); h.header.Get("Upload-Offset") != "2048" {
			t.Fatalf("the bytes of a refused upload were lost: %v", h.header)
		}
	})
}
