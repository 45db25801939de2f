package client

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// fakeTus is a tus 1.0.0 server holding one upload in memory, with knobs
// that break it the ways a network and a busy edge do. The real edge's tus
// is tested end to end in e2e; this exercises the client's branches.
type fakeTus struct {
	t  *testing.T
	mu sync.Mutex
	// length is the upload's length, meta its Upload-Metadata.
	length int64
	meta   string
	data   []byte
	// dropAfter, when positive, makes the next PATCH store that many
	// bytes and then drop the connection without an answer.
	dropAfter int64
	// corruptNext makes the next checksummed PATCH fail its digest.
	corruptNext bool
	// failPatches answers that many PATCHes 500 without storing anything.
	failPatches int
	// finish is the answer to the PATCH that completes the upload.
	finish    func(w http.ResponseWriter)
	patches   int
	checksums []string
}

func (f *fakeTus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Tus-Resumable") != "1.0.0" {
		api.WriteError(w, api.Errorf(412, api.CodeTusVersion, "tus 1.0.0 only"))
		return
	}
	if r.Header.Get("Authorization") != "Bearer dsk_test_secret" {
		f.t.Errorf("%s without the key", r.Method)
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/uploads/":
		f.length, _ = strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
		f.meta = r.Header.Get("Upload-Metadata")
		// A relative Location: the client resolves it.
		w.Header().Set("Location", "/api/v1/uploads/up_1")
		w.Header().Set("Upload-Expires", "Thu, 01 Jan 2026 00:00:00 GMT")
		w.WriteHeader(http.StatusCreated)
	case r.URL.Path != "/api/v1/uploads/up_1":
		w.WriteHeader(http.StatusNotFound)
	case r.Method == http.MethodHead:
		w.Header().Set("Upload-Offset", strconv.Itoa(len(f.data)))
		w.Header().Set("Upload-Length", strconv.FormatInt(f.length, 10))
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPatch:
		f.patch(w, r)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (f *fakeTus) patch(w http.ResponseWriter, r *http.Request) {
	f.patches++
	if r.Header.Get("Content-Type") != "application/offset+octet-stream" {
		api.WriteError(w, api.Errorf(415, api.CodeUnsupportedMediaType, "wrong Content-Type"))
		return
	}
	if off, _ := strconv.Atoi(r.Header.Get("Upload-Offset")); off != len(f.data) {
		api.WriteError(w, api.Errorf(409, api.CodeUploadOffsetMismatch, "offset %d, upload at %d", off, len(f.data)))
		return
	}
	if f.failPatches > 0 {
		f.failPatches--
		api.WriteError(w, api.Errorf(500, api.CodeInternal, "scripted"))
		return
	}
	if f.dropAfter > 0 {
		buf := make([]byte, f.dropAfter)
		m, _ := io.ReadFull(r.Body, buf)
		f.data = append(f.data, buf[:m]...)
		f.dropAfter = 0
		dropConnection(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if sum := r.Header.Get("Upload-Checksum"); sum != "" {
		f.checksums = append(f.checksums, sum)
		digest := sha256.Sum256(body)
		want := "sha256 " + base64.StdEncoding.EncodeToString(digest[:])
		if f.corruptNext || sum != want {
			f.corruptNext = false
			api.WriteError(w, api.Errorf(460, api.CodeChecksumMismatch, "digest differs"))
			return
		}
	}
	f.data = append(f.data, body...)
	w.Header().Set("Upload-Offset", strconv.Itoa(len(f.data)))
	if int64(len(f.data)) == f.length && f.finish != nil {
		f.finish(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestUpload(t *testing.T) {
	const size = 100 << 10
	tests := []struct {
		name  string
		setup func(f *fakeTus)
		opts  UploadOptions
		// wantPatches is the least number of PATCHes.
		wantPatches int
		wantJob     string
	}{
		{
			name:        "in chunks",
			opts:        UploadOptions{ChunkSize: 30 << 10},
			wantPatches: 4,
		},
		{
			name:        "resumes from HEAD's offset after an interrupted PATCH",
			setup:       func(f *fakeTus) { f.dropAfter = 10 << 10 },
			opts:        UploadOptions{ChunkSize: 64 << 10},
			wantPatches: 3,
		},
		{
			name:        "a damaged chunk is sent again",
			setup:       func(f *fakeTus) { f.corruptNext = true },
			opts:        UploadOptions{ChunkSize: 64 << 10, Checksum: true},
			wantPatches: 3,
		},
		{
			name:        "server errors are survived",
			setup:       func(f *fakeTus) { f.failPatches = 2 },
			opts:        UploadOptions{ChunkSize: 64 << 10},
			wantPatches: 4,
		},
		{
			name: "processed on completion",
			setup: func(f *fakeTus) {
				f.finish = func(w http.ResponseWriter) {
					w.Header().Set("X-Job-ID", "job_9")
					w.WriteHeader(http.StatusNoContent)
				}
			},
			opts:        UploadOptions{Process: true, Options: Options{OutputFormats: []string{"json"}}},
			wantPatches: 1, wantJob: "job_9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := randomBytes(t, size)
			f := &fakeTus{t: t}
			if tt.setup != nil {
				tt.setup(f)
			}
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			var progress []int64
			tt.opts.Filename = "scan.pdf"
			tt.opts.Progress = func(done, total int64) {
				if total != size {
					t.Errorf("progress total %d", total)
				}
				progress = append(progress, done)
			}
			u, err := newTestClient(t, srv).Upload(t.Context(), bytes.NewReader(data), size, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.data, data) {
				t.Fatalf("the edge holds %d bytes that differ from the %d sent", len(f.data), size)
			}
			if u.ID != "up_1" || u.URL != srv.URL+"/api/v1/uploads/up_1" || u.Offset != size || u.ExpiresAt.IsZero() {
				t.Fatalf("upload %+v", u)
			}
			if f.patches < tt.wantPatches {
				t.Fatalf("%d PATCHes, want at least %d", f.patches, tt.wantPatches)
			}
			if u.JobID != tt.wantJob {
				t.Fatalf("job %q, want %q", u.JobID, tt.wantJob)
			}
			if progress[0] != 0 || progress[len(progress)-1] != size {
				t.Fatalf("progress %v", progress)
			}
			if tt.opts.Checksum && len(f.checksums) < 2 {
				t.Fatalf("checksums %v", f.checksums)
			}
			wantMeta := "filename " + base64.StdEncoding.EncodeToString([]byte("scan.pdf"))
			if !strings.Contains(f.meta, wantMeta) || tt.opts.Process != strings.Contains(f.meta, "process ") {
				t.Fatalf("metadata %q", f.meta)
			}
		})
	}
}

// TestUploadResumeByURL: an upload that gave up reports its URL, and
// ResumeUpload finishes it there with the same data.
func TestUploadResumeByURL(t *testing.T) {
	const size = 64 << 10
	data := randomBytes(t, size)
	f := &fakeTus{t: t, failPatches: 100}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv)
	ctx := t.Context()
	_, err := c.Upload(ctx, bytes.NewReader(data), size, UploadOptions{ChunkSize: 16 << 10, MaxRetries: 2})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.URL == "" || Code(err) != api.CodeInternal {
		t.Fatalf("a failing upload: %v", err)
	}
	// The edge recovers; half the data had reached it meanwhile by
	// another route.
	f.mu.Lock()
	f.failPatches = 0
	f.data = append(f.data, data[:size/2]...)
	f.mu.Unlock()

	if _, err := c.ResumeUpload(ctx, ue.URL, bytes.NewReader(data[:size-1]), size-1, UploadOptions{}); !errors.Is(err, ErrUploadMismatch) {
		t.Fatalf("resuming with other data: %v", err)
	}
	u, err := c.ResumeUpload(ctx, ue.URL, bytes.NewReader(data), size, UploadOptions{ChunkSize: 16 << 10})
	if err != nil || u.Offset != size {
		t.Fatalf("resume: %+v %v", u, err)
	}
	if !bytes.Equal(f.data, data) {
		t.Fatal("the resumed upload differs from the data")
	}
	if f.patches != 3+2 {
		t.Fatalf("%d PATCHes: want 3 failed and 2 for the second half", f.patches)
	}
}

func TestUploadRefusals(t *testing.T) {
	tests := []struct {
		name     string
		finish   func(w http.ResponseWriter)
		process  bool
		wantCode string
		wantIs   error
	}{
		{
			name: "a job refused on completion is final",
			finish: func(w http.ResponseWriter) {
				api.WriteError(w, api.Errorf(415, api.CodeUnsupportedMediaType, "not a document"))
			},
			process: true, wantCode: api.CodeUnsupportedMediaType,
		},
		{
			name: "a completed upload without its job",
			finish: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusNoContent)
			},
			process: true, wantIs: ErrNoJob,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTus{t: t, finish: tt.finish}
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			start := time.Now()
			_, err := newTestClient(t, srv).Upload(t.Context(), strings.NewReader("junk"), 4, UploadOptions{Process: tt.process})
			var ue *UploadError
			if !errors.As(err, &ue) || ue.URL == "" || ue.Offset != 0 && ue.Offset != 4 {
				t.Fatalf("Upload: %v", err)
			}
			if tt.wantCode != "" && Code(err) != tt.wantCode || tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("Upload: %v", err)
			}
			if f.patches != 1 || time.Since(start) > 5*time.Second {
				t.Fatalf("%d PATCHes in %v for a final answer", f.patches, time.Since(start))
			}
		})
	}
}

func TestUploadMetadata(t *testing.T) {
	tests := []struct {
		name    string
		opts    UploadOptions
		want    string
		wantErr bool
	}{
		{"none", UploadOptions{}, "", false},
		{"filename", UploadOptions{Filename: "a b.pdf"}, "filename YSBiLnBkZg==", false},
		{"process with options", UploadOptions{Process: true, Options: Options{OCR: "off"}, Metadata: map[string]string{"note": "x"}},
			"note eA==,options " + base64.StdEncoding.EncodeToString([]byte(`{"ocr":"off"}`)) + ",process dHJ1ZQ==", false},
		{"a key with a space", UploadOptions{Metadata: map[string]string{"a b": "x"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.opts.metadata()
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("metadata %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
