package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	xslog "golang.org/x/exp/slog"
)

// tusServer is tusd's handler with its filestore in a fresh folder, as the
// stock binary and the edge run it, in process; wrap, when set, stands in
// front of it.
func tusServer(t *testing.T, wrap func(http.Handler) http.Handler) (url, dir string) {
	t.Helper()
	dir = t.TempDir()
	c := tusd.NewStoreComposer()
	filestore.New(dir).UseIn(c)
	memorylocker.New().UseIn(c)
	h, err := tusd.NewHandler(tusd.Config{
		BasePath:      "/files/",
		StoreComposer: c,
		Logger:        xslog.New(xslog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = http.StripPrefix("/files/", h)
	if wrap != nil {
		handler = wrap(handler)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL + "/files/", dir
}

// requireKey answers 401 unless the bench sends the key, as the edge does.
func requireKey(key string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+key {
				http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// corruptFirstChunk flips one byte of the first PATCH's body on its way
// in: the server stores it and answers the right offset, so only the hash
// can tell.
func corruptFirstChunk(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && r.Header.Get("Upload-Offset") == "0" {
			r.Body = &flipReader{ReadCloser: r.Body, at: 100}
		}
		next.ServeHTTP(w, r)
	})
}

type flipReader struct {
	io.ReadCloser
	at, off int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}

func TestRunAgainstTusdHandlers(t *testing.T) {
	const key = "dsk_test"
	tests := []struct {
		name        string
		edgeWrap    func(http.Handler) http.Handler
		key         string
		edgeDir     bool
		wantCode    int
		wantUploads int
		wantVerdict string
		wantText    string
	}{
		{name: "both intact", edgeWrap: requireKey(key), key: key, edgeDir: true, wantCode: exitPass, wantUploads: 6, wantVerdict: "PASS", wantText: "verdict: PASS"},
		{name: "stored bytes not hashed", edgeWrap: requireKey(key), key: key, wantCode: exitPass, wantUploads: 6, wantVerdict: "PASS", wantText: "not hashed"},
		{name: "corrupted by the edge", edgeWrap: corruptFirstChunk, edgeDir: true, wantCode: exitFail, wantUploads: 6, wantVerdict: "FAIL", wantText: "FAIL integrity"},
		{name: "key refused", edgeWrap: requireKey(key), key: "dsk_wrong", edgeDir: true, wantCode: exitUsage, wantUploads: 1, wantVerdict: "INCOMPLETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edgeURL, edgeDir := tusServer(t, tt.edgeWrap)
			tusdURL, tusdDir := tusServer(t, nil)
			jsonPath := filepath.Join(t.TempDir(), "results.json")
			args := []string{
				"-edge", edgeURL, "-tusd", tusdURL, "-key", tt.key,
				"-edge-pid", strconv.Itoa(os.Getpid()), "-tusd-pid", strconv.Itoa(os.Getpid()),
				"-tusd-dir", tusdDir,
				"-size", "3MiB", "-chunk", "1MiB", "-runs", "2", "-warmup", "1",
				// The servers share this process: neither speed nor
				// memory is the point here.
				"-min-ratio", "0", "-max-rss-growth", "1GiB",
				"-json", jsonPath,
			}
			if tt.edgeDir {
				args = append(args, "-edge-dir", edgeDir)
			}
			var stdout, stderr strings.Builder
			code := run(context.Background(), args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			if testing.Verbose() {
				t.Log(out)
			}
			if !strings.Contains(out, tt.wantText) {
				t.Errorf("output lacks %q:\n%s", tt.wantText, out)
			}
			b, err := os.ReadFile(jsonPath)
			if err != nil {
				t.Fatal(err)
			}
			var rep report
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Uploads) != tt.wantUploads || rep.Verdict != tt.wantVerdict {
				t.Errorf("JSON has %d uploads and verdict %q, want %d and %q", len(rep.Uploads), rep.Verdict, tt.wantUploads, tt.wantVerdict)
			}
			// One warmup each, then the order alternates: edge first in
			// run 1, tusd first in run 2.
			if tt.wantUploads == 6 {
				var order []string
				for _, u := range rep.Uploads {
					order = append(order, u.Server)
				}
				if got, want := strings.Join(order, ","), "edge,tusd,edge,tusd,tusd,edge"; got != want {
					t.Errorf("upload order %s, want %s", got, want)
				}
			}
			// Every upload was deleted after its check.
			for _, d := range []string{edgeDir, tusdDir} {
				if left, _ := os.ReadDir(d); len(left) != 0 {
					t.Errorf("%s still holds %d files", d, len(left))
				}
			}
		})
	}
}
