package host

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, mode os.FileMode, mtime time.Time) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("file", 0o755, t0)
	write("plain", 0o644, t0)
	write("folder/v1", 0o755, t0)
	write("folder/v2", 0o755, t0.Add(time.Minute))
	write("folder/.v3.tmp", 0o755, t0.Add(2*time.Minute))
	write("folder/notes.txt", 0o644, t0.Add(3*time.Minute))
	write("tie/a", 0o755, t0)
	write("tie/b", 0o755, t0)
	write("empty/readme", 0o644, t0)
	tests := []struct {
		name string
		want string
		err  error
	}{
		{name: "file", want: "file"},
		{name: "folder", want: "folder/v2"},
		{name: "tie", want: "tie/b"},
		{name: "plain", err: ErrNoBinary},
		{name: "empty", err: ErrNoBinary},
		{name: "missing", err: ErrUnknownBackend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolve(dir, tt.name)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got != filepath.Join(dir, tt.want) {
				t.Fatalf("resolve = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestEntryOf(t *testing.T) {
	h := &Host{cfg: Config{Dir: "/b"}}
	tests := []struct {
		name, path, want string
		nested           bool
	}{
		{name: "top-level file", path: "/b/ocr", want: "ocr"},
		{name: "file in folder", path: "/b/ocr/v2", want: "ocr", nested: true},
		{name: "hidden temp in folder", path: "/b/ocr/.v2.tmp"},
		{name: "hidden top-level", path: "/b/.ocr.tmp"},
		{name: "too deep", path: "/b/ocr/x/y"},
		{name: "outside", path: "/c/ocr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, nested := h.entryOf(tt.path)
			if name != tt.want || nested != tt.nested {
				t.Errorf("entryOf(%q) = %q, %v; want %q, %v", tt.path, name, nested, tt.want, tt.nested)
			}
		})
	}
}
