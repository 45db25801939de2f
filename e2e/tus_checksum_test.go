package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
)

// uploadChecksum is an Upload-Checksum header value for data.
func uploadChecksum(alg string, data []byte) string {
	var sum []byte
	switch alg {
	case "sha1":
		d := sha1.Sum(data)
		sum = d[:]
	case "md5":
		d := md5.Sum(data)
		sum = d[:]
	case "sha256":
		d := sha256.Sum256(data)
		sum = d[:]
	default:
		panic("no such algorithm " + alg)
	}
	return alg + " " + base64.StdEncoding.EncodeToString(sum)
}

// TestTusChecksum drives tus' checksum extension, which the edge adds to
// tusd: a chunk is appended only if its digest matches, and a mismatch
// (460) leaves the upload as it was.
func TestTusChecksum(t *testing.T) {
	s := startStack(t, "DOCSTRANGE_WORKERS=-1")
	spoolDir := filepath.Join(s.dataDir, "uploads-tmp")
	wantNoSpool := func(t *testing.T) {
		t.Helper()
		entries, err := os.ReadDir(spoolDir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if len(entries) > 0 {
			t.Fatalf("spool files left behind: %v", entries)
		}
	}
	wantState := func(t *testing.T, loc string, offset int, stored string) {
		t.Helper()
		r := s.tusReq(s.key, http.MethodHead, loc, nil, nil)
		if r.status != http.StatusOK || r.header.Get("Upload-Offset") != strconv.Itoa(offset) {
			t.Fatalf("HEAD: %d, Upload-Offset %q, want %d", r.status, r.header.Get("Upload-Offset"), offset)
		}
		if got := readFile(t, filepath.Join(s.dataDir, "uploads", path.Base(loc))); string(got) != stored {
			t.Fatalf("stored bytes %q, want %q", got, stored)
		}
	}

	t.Run("discovery", func(t *testing.T) {
		r := s.tusReq("", http.MethodOptions, "/api/v1/uploads/", nil, nil)
		if r.status != http.StatusOK && r.status != http.StatusNoContent {
			t.Fatalf("OPTIONS: %d %s", r.status, r.body)
		}
		ext := r.header.Get("Tus-Extension")
		for _, want := range []string{"checksum", "expiration", "creation"} {
			if !strings.Contains(","+ext+",", ","+want+",") {
				t.Errorf("Tus-Extension %q lacks %s", ext, want)
			}
		}
		if got := r.header.Get("Tus-Checksum-Algorithm"); got != "sha1,md5,sha256" {
			t.Errorf("Tus-Checksum-Algorithm %q", got)
		}
	})

	t.Run("verified chunks, and a mismatch that changes nothing", func(t *testing.T) {
		chunks := [][]byte{[]byte("0123456789"), []byte("abcdefghij"), []byte("KLMNOPQRST")}
		loc := s.tusCreate(s.key, 30, meta("filename", "chunks.bin"))

		r := s.tusReq(s.key, http.MethodPatch, loc, chunks[0], map[string]string{"Upload-Offset": "0", "Upload-Checksum": uploadChecksum("sha1", chunks[0])})
		if r.status != http.StatusNoContent || r.header.Get("Upload-Offset") != "10" {
			t.Fatalf("sha1 PATCH: %d %v %s", r.status, r.header, r.body)
		}

		// The right bytes under another chunk's digest.
		r = s.tusReq(s.key, http.MethodPatch, loc, chunks[1], map[string]string{"Upload-Offset": "10", "Upload-Checksum": uploadChecksum("sha1", chunks[2])})
		env := wantError(t, r, 460, api.CodeChecksumMismatch)
		if !strings.Contains(env.Error.Message, "sha1") {
			t.Errorf("mismatch message %q", env.Error.Message)
		}
		wantState(t, loc, 10, "0123456789")
		wantNoSpool(t)

		r = s.tusReq(s.key, http.MethodPatch, loc, chunks[1], map[string]string{"Upload-Offset": "10", "Upload-Checksum": uploadChecksum("md5", chunks[1])})
		if r.status != http.StatusNoContent || r.header.Get("Upload-Offset") != "20" {
			t.Fatalf("md5 PATCH: %d %v %s", r.status, r.header, r.body)
		}
		r = s.tusReq(s.key, http.MethodPatch, loc, chunks[2], map[string]string{"Upload-Offset": "20", "Upload-Checksum": uploadChecksum("sha256", chunks[2])})
		if r.status != http.StatusNoContent || r.header.Get("Upload-Offset") != "30" {
			t.Fatalf("sha256 PATCH: %d %v %s", r.status, r.header, r.body)
		}
		wantState(t, loc, 30, "0123456789abcdefghijKLMNOPQRST")
		wantNoSpool(t)
	})

	t.Run("creation with upload", func(t *testing.T) {
		body := []byte("first chunk")
		r := s.tusReq(s.key, http.MethodPost, "/api/v1/uploads/", body, map[string]string{
			"Upload-Length": "20", "Upload-Checksum": uploadChecksum("sha1", []byte("other bytes")),
		})
		wantError(t, r, 460, api.CodeChecksumMismatch)
		r = s.tusReq(s.key, http.MethodPost, "/api/v1/uploads/", body, map[string]string{
			"Upload-Length": "20", "Upload-Checksum": uploadChecksum("sha1", body),
		})
		if r.status != http.StatusCreated || r.header.Get("Upload-Offset") != strconv.Itoa(len(body)) {
			t.Fatalf("creation-with-upload with a good checksum: %d %v", r.status, r.header)
		}
	})

	t.Run("refused headers", func(t *testing.T) {
		data := []byte("0123456789")
		loc := s.tusCreate(s.key, len(data), "")
		tests := []struct {
			name, header string
		}{
			{"unknown algorithm", "crc32 " + base64.StdEncoding.EncodeToString([]byte{1, 2, 3, 4})},
			{"no digest", "sha1"},
			{"not base64", "sha1 ***"},
			{"wrong digest length", "sha256 " + strings.SplitN(uploadChecksum("sha1", data), " ", 2)[1]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.tusReq(s.key, http.MethodPatch, loc, data, map[string]string{"Upload-Offset": "0", "Upload-Checksum": tt.header})
				env := wantError(t, r, http.StatusBadRequest, api.CodeInvalidRequest)
				if env.Error.Details["field"] != "Upload-Checksum" {
					t.Fatalf("details %v", env.Error.Details)
				}
				if tt.name == "unknown algorithm" && !strings.Contains(env.Error.Message, "sha1, md5, sha256") {
					t.Fatalf("message %q does not list the supported algorithms", env.Error.Message)
				}
				wantState(t, loc, 0, "")
			})
		}
	})

	t.Run("chunked body and deferred length", func(t *testing.T) {
		r := s.tusReq(s.key, http.MethodPost, "/api/v1/uploads/", nil, map[string]string{"Upload-Defer-Length": "1"})
		if r.status != http.StatusCreated {
			t.Fatalf("deferred: %d %s", r.status, r.body)
		}
		loc := r.header.Get("Location")
		data := []byte("streamed without a Content-Length")
		patch := func(sum string) *response {
			// An io.Reader of unknown length goes out chunked.
			req, _ := http.NewRequest(http.MethodPatch, loc, io.MultiReader(bytes.NewReader(data)))
			req.Header.Set("Tus-Resumable", "1.0.0")
			req.Header.Set("Content-Type", "application/offset+octet-stream")
			req.Header.Set("Upload-Offset", "0")
			req.Header.Set("Upload-Length", strconv.Itoa(len(data)))
			req.Header.Set("Upload-Checksum", sum)
			return s.do(req)
		}
		wantError(t, patch(uploadChecksum("sha256", []byte("something else"))), 460, api.CodeChecksumMismatch)
		wantNoSpool(t)
		r = patch(uploadChecksum("sha256", data))
		if r.status != http.StatusNoContent || r.header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
			t.Fatalf("chunked PATCH: %d %v %s", r.status, r.header, r.body)
		}
		wantState(t, loc, len(data), string(data))
	})

	t.Run("client gone mid-body", func(t *testing.T) {
		loc := s.tusCreate(s.key, 1000, "")
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\n"+
			"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nUpload-Checksum: %s\r\nContent-Length: 1000\r\n\r\n",
			path.Clean(strings.TrimPrefix(loc, s.base)), strings.TrimPrefix(s.base, "http://"), s.key, uploadChecksum("sha1", make([]byte, 1000)))
		conn.Write(make([]byte, 400))
		time.Sleep(200 * time.Millisecond)
		conn.Close()
		// The edge notices, drops the spooled part and appends nothing.
		deadline := time.Now().Add(5 * time.Second)
		for {
			entries, _ := os.ReadDir(spoolDir)
			if len(entries) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("spool files left behind: %v", entries)
			}
			time.Sleep(50 * time.Millisecond)
		}
		wantState(t, loc, 0, "")
	})
}
