package tus

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/caddy-modules/docstrange"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sha1Of(s string) []byte   { d := sha1.Sum([]byte(s)); return d[:] }
func md5Of(s string) []byte    { d := md5.Sum([]byte(s)); return d[:] }
func sha256Of(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }

func TestParseChecksum(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		wantAlg string
		wantErr string // substring of the message; "" for success
	}{
		{"sha1", "sha1 " + b64(sha1Of("x")), "sha1", ""},
		{"md5", "md5 " + b64(md5Of("x")), "md5", ""},
		{"sha256", "sha256 " + b64(sha256Of("x")), "sha256", ""},
		{"algorithm in capitals", "SHA1 " + b64(sha1Of("x")), "sha1", ""},
		{"surrounding spaces", "  sha1  " + b64(sha1Of("x")) + " ", "sha1", ""},
		{"unknown algorithm", "crc32 AAAAAA==", "", "supported: sha1, md5, sha256"},
		{"no digest", "sha1", "", "separated by a space"},
		{"empty", "", "", "separated by a space"},
		{"digest only", " " + b64(sha1Of("x")), "", "separated by a space"},
		{"not base64", "sha1 !!!notbase64!!!", "", "not base64"},
		{"unpadded base64", "sha1 " + strings.TrimRight(b64(sha1Of("x")), "="), "", "not base64"},
		{"sha256 digest named sha1", "sha1 " + b64(sha256Of("x")), "", "sha1 digests are 20"},
		{"short digest", "md5 " + b64([]byte("short")), "", "md5 digests are 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, apiErr := parseChecksum(tt.header)
			if tt.wantErr != "" {
				if apiErr == nil {
					t.Fatalf("parsed %q as %+v", tt.header, sum)
				}
				if apiErr.Status != http.StatusBadRequest || apiErr.Code != api.CodeInvalidRequest || apiErr.Details["field"] != headerUploadChecksum {
					t.Fatalf("error %+v", apiErr)
				}
				if !strings.Contains(apiErr.Message, tt.wantErr) {
					t.Fatalf("message %q lacks %q", apiErr.Message, tt.wantErr)
				}
				return
			}
			if apiErr != nil {
				t.Fatalf("parsing %q: %v", tt.header, apiErr)
			}
			if sum.algorithm != tt.wantAlg || len(sum.digest) != sum.newHash().Size() {
				t.Fatalf("parsed %+v", sum)
			}
		})
	}
}

// TestChecksumAlgorithmsAdvertised: every algorithm OPTIONS names is one
// a PATCH may use.
func TestChecksumAlgorithmsAdvertised(t *testing.T) {
	for alg := range strings.SplitSeq(checksumAlgorithms, ",") {
		if checksumHash(alg) == nil {
			t.Errorf("%s is advertised but unknown", alg)
		}
	}
	if !strings.HasPrefix(checksumAlgorithms, "sha1") {
		t.Errorf("sha1, which the spec requires, is not advertised: %s", checksumAlgorithms)
	}
}

// wantEmptyDir fails if a spool file was left behind.
func wantEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("spool files left behind: %v", entries)
	}
}

func mustParse(t *testing.T, header string) checksum {
	t.Helper()
	sum, apiErr := parseChecksum(header)
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	return sum
}

func TestSpoolChunk(t *testing.T) {
	const data = "hello, world"
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		body       io.Reader
		limit      int64
		header     string
		wantStatus int // 0 for success
		wantCode   string
	}{
		{"sha1 matches", context.Background(), strings.NewReader(data), 1 << 20, "sha1 " + b64(sha1Of(data)), 0, ""},
		{"md5 matches", context.Background(), strings.NewReader(data), 1 << 20, "md5 " + b64(md5Of(data)), 0, ""},
		{"sha256 matches", context.Background(), strings.NewReader(data), 1 << 20, "sha256 " + b64(sha256Of(data)), 0, ""},
		{"exactly the limit", context.Background(), strings.NewReader(data), int64(len(data)), "sha1 " + b64(sha1Of(data)), 0, ""},
		{"empty body", context.Background(), strings.NewReader(""), 1 << 20, "sha1 " + b64(sha1Of("")), 0, ""},
		{"nil body", context.Background(), nil, 1 << 20, "sha1 " + b64(sha1Of("")), 0, ""},
		{"mismatch", context.Background(), strings.NewReader(data), 1 << 20, "sha1 " + b64(sha1Of("hello, World")), StatusChecksumMismatch, api.CodeChecksumMismatch},
		{"over the limit", context.Background(), strings.NewReader(data), int64(len(data)) - 1, "sha1 " + b64(sha1Of(data)), http.StatusRequestEntityTooLarge, api.CodeFileTooLarge},
		{"over a MaxBytesReader", context.Background(), http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(data)), 5), 1 << 20, "sha1 " + b64(sha1Of(data)), http.StatusRequestEntityTooLarge, api.CodeFileTooLarge},
		{"client gone mid-body", context.Background(), io.MultiReader(strings.NewReader(data), iotest.ErrReader(io.ErrUnexpectedEOF)), 1 << 20, "sha1 " + b64(sha1Of(data)), http.StatusBadRequest, api.CodeInvalidRequest},
		{"request canceled", canceled, strings.NewReader(data), 1 << 20, "sha1 " + b64(sha1Of(data)), http.StatusBadRequest, api.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			spool, err := spoolChunk(tt.ctx, dir, tt.body, tt.limit, mustParse(t, tt.header))
			if tt.wantStatus != 0 {
				var apiErr *api.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v, want an API error", err)
				}
				if apiErr.Status != tt.wantStatus || apiErr.Code != tt.wantCode {
					t.Fatalf("error %+v, want %d %s", apiErr, tt.wantStatus, tt.wantCode)
				}
				wantEmptyDir(t, dir)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(spool)
			if err != nil {
				t.Fatal(err)
			}
			want := data
			if tt.body == nil || strings.Contains(tt.name, "empty") {
				want = ""
			}
			if string(got) != want || spool.size != int64(len(want)) {
				t.Fatalf("spooled %q (size %d), want %q", got, spool.size, want)
			}
			spool.release()
			wantEmptyDir(t, dir)
		})
	}
}

// TestSpoolChunkDiskFailure: the spool's own failure is not blamed on the
// client.
func TestSpoolChunkDiskFailure(t *testing.T) {
	_, err := spoolChunk(context.Background(), filepath.Join(t.TempDir(), "missing"), strings.NewReader("x"), 10, mustParse(t, "sha1 "+b64(sha1Of("x"))))
	var apiErr *api.Error
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("error %v, want an I/O error", err)
	}
}

func testHandler(t *testing.T) *Handler {
	t.Helper()
	return &Handler{
		MaxSize: 1 << 10,
		app:     &docstrange.App{DataDir: t.TempDir()},
		log:     slog.New(slog.DiscardHandler),
	}
}

func patchRequest(body string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPatch, BasePath+"abc", strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func TestVerifyChecksum(t *testing.T) {
	const data = "some chunk bytes"

	t.Run("no header", func(t *testing.T) {
		h := testHandler(t)
		r := patchRequest(data)
		got, cleanup, apiErr := h.verifyChecksum(r)
		if apiErr != nil || got != r || cleanup == nil {
			t.Fatalf("got %p (want %p), %v", got, r, apiErr)
		}
		cleanup()
		if _, err := os.Stat(filepath.Join(h.app.DataDir, spoolDirName)); !os.IsNotExist(err) {
			t.Fatalf("a request without a checksum touched the spool: %v", err)
		}
	})

	for _, chunked := range []bool{false, true} {
		name := "verified"
		if chunked {
			name += " without Content-Length"
		}
		t.Run(name, func(t *testing.T) {
			h := testHandler(t)
			r := patchRequest(data, headerUploadChecksum, "sha256 "+b64(sha256Of(data)))
			if chunked {
				r.ContentLength = -1
				r.Header.Del("Content-Length")
				r.TransferEncoding = []string{"chunked"}
			}
			got, cleanup, apiErr := h.verifyChecksum(r)
			if apiErr != nil {
				t.Fatal(apiErr)
			}
			if got == r || got.ContentLength != int64(len(data)) || got.Header.Get("Content-Length") != "16" || got.TransferEncoding != nil {
				t.Fatalf("verified request: ContentLength %d, header %v, TE %v", got.ContentLength, got.Header, got.TransferEncoding)
			}
			// tusd may close the body; the file is still cleanup's to close.
			got.Body.Close()
			b, err := io.ReadAll(got.Body)
			if err != nil || string(b) != data {
				t.Fatalf("body %q, %v", b, err)
			}
			dir := filepath.Join(h.app.DataDir, spoolDirName)
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("spool folder: %v %v", fi, err)
			}
			cleanup()
			wantEmptyDir(t, dir)
			if _, err := got.Body.Read(make([]byte, 1)); err == nil {
				t.Fatal("the spool file is still open after cleanup")
			}
		})
	}

	refusals := []struct {
		name          string
		body          string
		contentLength int64
		headers       []string
		status        int
		code          string
	}{
		{"mismatch", data, int64(len(data)), []string{headerUploadChecksum, "sha1 " + b64(sha1Of("other bytes"))}, StatusChecksumMismatch, api.CodeChecksumMismatch},
		{"unknown algorithm", data, int64(len(data)), []string{headerUploadChecksum, "crc32 AAAAAA=="}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"header twice", data, int64(len(data)), []string{headerUploadChecksum, "sha1 " + b64(sha1Of(data)), headerUploadChecksum, "sha1 " + b64(sha1Of(data))}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"declared over MaxSize", data, 1<<10 + 1, []string{headerUploadChecksum, "sha1 " + b64(sha1Of(data))}, http.StatusRequestEntityTooLarge, api.CodeFileTooLarge},
		{"chunked over MaxSize", strings.Repeat("x", 1<<10+1), -1, []string{headerUploadChecksum, "sha1 " + b64(sha1Of(strings.Repeat("x", 1<<10+1)))}, http.StatusRequestEntityTooLarge, api.CodeFileTooLarge},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			h := testHandler(t)
			r := patchRequest(tt.body, tt.headers...)
			r.ContentLength = tt.contentLength
			_, cleanup, apiErr := h.verifyChecksum(r)
			if apiErr == nil || apiErr.Status != tt.status || apiErr.Code != tt.code {
				t.Fatalf("error %+v, want %d %s", apiErr, tt.status, tt.code)
			}
			cleanup()
			if dir := filepath.Join(h.app.DataDir, spoolDirName); dirExists(dir) {
				wantEmptyDir(t, dir)
			}
		})
	}
}

func dirExists(dir string) bool {
	_, err := os.Stat(dir)
	return err == nil
}
