package extract

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Compiling PDFium takes seconds (tens under -race), so the tests share one
// engine per configuration and a compilation cache that outlives the run.
var (
	enginesMu sync.Mutex
	engines   = map[PDFConfig]*PDFEngine{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, e := range engines {
		if err := e.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing engine:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testCacheDir is DOCSTRANGE_WAZERO_CACHE or a folder in the temp dir.
func testCacheDir() string {
	if d := os.Getenv("DOCSTRANGE_WAZERO_CACHE"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "docstrange-mesh-wazero-cache")
}

// sharedEngine returns the engine for cfg (CacheDir filled in), starting it
// on first use.
func sharedEngine(t testing.TB, cfg PDFConfig) *PDFEngine {
	t.Helper()
	cfg.CacheDir = testCacheDir()
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e, ok := engines[cfg]; ok {
		return e
	}
	e, err := NewPDFEngine(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewPDFEngine: %v", err)
	}
	engines[cfg] = e
	return e
}

func testEngine(t testing.TB) *PDFEngine {
	return sharedEngine(t, PDFConfig{MaxTotal: 4})
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInspect(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name    string
		file    string
		data    []byte
		want    Info
		wantErr error
	}{
		{name: "one page", file: "hello.pdf", want: Info{Pages: 1}},
		{name: "three pages", file: "pages.pdf", want: Info{Pages: 3}},
		{name: "no text layer", file: "notext.pdf", want: Info{Pages: 1}},
		{name: "owner password only", file: "owner-only.pdf", want: Info{Pages: 1, Encrypted: true}},
		{name: "user password", file: "encrypted.pdf", wantErr: ErrEncrypted},
		{name: "truncated", file: "corrupt.pdf", wantErr: ErrCorrupt},
		{name: "not a pdf", data: []byte("%PDF-1.7\nthis is not really a pdf\n"), wantErr: ErrCorrupt},
		{name: "empty", data: []byte{}, wantErr: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if tt.file != "" {
				data = readFixture(t, tt.file)
			}
			got, err := e.InspectBytes(t.Context(), data)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("InspectBytes error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("InspectBytes = %+v, want %+v", got, tt.want)
			}
			if tt.file == "" {
				return
			}
			got, err = e.Inspect(t.Context(), filepath.Join("testdata", tt.file))
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("Inspect = %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestInspectFileMissing(t *testing.T) {
	_, err := testEngine(t).Inspect(t.Context(), "testdata/does-not-exist.pdf")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want os.ErrNotExist", err)
	}
}

func TestInspectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := testEngine(t).Inspect(ctx, "testdata/hello.pdf"); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestEngineClosed(t *testing.T) {
	e, err := NewPDFEngine(t.Context(), PDFConfig{CacheDir: testCacheDir(), MaxTotal: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := e.Inspect(t.Context(), "testdata/hello.pdf"); !errors.Is(err, ErrClosed) {
		t.Errorf("Inspect after Close error = %v, want ErrClosed", err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  PDFConfig
		want PDFConfig
		ok   bool
	}{
		{name: "defaults", cfg: PDFConfig{MaxTotal: 4}, want: PDFConfig{MinIdle: 1, MaxIdle: 4, MaxTotal: 4}, ok: true},
		{name: "explicit", cfg: PDFConfig{MinIdle: 2, MaxIdle: 3, MaxTotal: 8}, want: PDFConfig{MinIdle: 2, MaxIdle: 3, MaxTotal: 8}, ok: true},
		{name: "negative", cfg: PDFConfig{MaxTotal: -1}},
		{name: "min over max", cfg: PDFConfig{MinIdle: 5, MaxTotal: 2}},
		{name: "idle over total", cfg: PDFConfig{MaxIdle: 5, MaxTotal: 2}},
		{name: "memory over wasm32", cfg: PDFConfig{MaxTotal: 1, MemoryLimitMiB: 8192}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			err := cfg.normalize()
			if (err == nil) != tt.ok {
				t.Fatalf("normalize() error = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && cfg != tt.want {
				t.Errorf("normalize() = %+v, want %+v", cfg, tt.want)
			}
		})
	}
}

// TestBackendVersion keeps the go-pdfium release named in BackendVersion in
// step with go.mod. (Test binaries carry no dependency build info.)
func TestBackendVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(mod), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "github.com/klippa-app/go-pdfium" {
			if want := "+go-pdfium." + strings.TrimPrefix(f[1], "v"); !strings.HasSuffix(BackendVersion, want) {
				t.Errorf("BackendVersion %q does not end in %q", BackendVersion, want)
			}
			return
		}
	}
	t.Error("go-pdfium is not required in go.mod")
}

func TestPing(t *testing.T) {
	e, err := NewPDFEngine(t.Context(), PDFConfig{CacheDir: testCacheDir(), MaxTotal: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	e.Close()
	if err := e.Ping(t.Context()); err == nil {
		t.Fatal("Ping of a closed engine succeeded")
	}
}
