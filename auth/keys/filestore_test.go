package keys_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docstrange/mesh/auth/keys"
)

// openFile opens a FileStore at path, closed in t.Cleanup.
func openFile(t *testing.T, path string) *keys.FileStore {
	t.Helper()
	s, err := keys.OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestFileStoreConformance(t *testing.T) {
	var (
		mu    sync.Mutex
		paths = map[keys.Store]string{}
	)
	runStoreSuite(t, storeHarness{
		open: func(t *testing.T) keys.Store {
			p := filepath.Join(t.TempDir(), "keys.json")
			s := openFile(t, p)
			mu.Lock()
			paths[s] = p
			mu.Unlock()
			return s
		},
		reopen: func(t *testing.T, s keys.Store) keys.Store {
			mu.Lock()
			p := paths[s]
			mu.Unlock()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openFile(t, p)
		},
	})
}

func TestFileStoreRefusesCorruptFile(t *testing.T) {
	const (
		rec  = `{"id":"key_a","tenant":"t","tier":"x","created_at":"2025-01-01T00:00:00Z","hash":"00ff"}`
		good = `{"version":1,"keys":[` + rec + `]}`
	)
	tests := []struct {
		name    string
		content string
		wantErr string
	}{
		{"empty file", "", "corrupt"},
		{"truncated", good[:len(good)/2], "corrupt"},
		{"not json", "hello", "corrupt"},
		{"trailing data", good + "{}", "corrupt"},
		{"unknown field", `{"version":1,"keys":[],"extra":1}`, "corrupt"},
		{"wrong version", `{"version":2,"keys":[]}`, "version 2"},
		{"missing version", `{"keys":[]}`, "version 0"},
		{"bad hash", strings.Replace(good, `"00ff"`, `"zz"`, 1), "bad hash"},
		{"empty hash", strings.Replace(good, `"00ff"`, `""`, 1), "bad hash"},
		{"no id", strings.Replace(good, `"key_a"`, `""`, 1), "without id"},
		{"duplicate id", `{"version":1,"keys":[` + rec + `,` + rec + `]}`, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys.json")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := keys.OpenFile(p)
			if err == nil {
				_ = s.Close()
				t.Fatal("OpenFile accepted a corrupt file")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), p) {
				t.Fatalf("OpenFile error %q; want it to name the file and say %q", err, tt.wantErr)
			}
			after, _ := os.ReadFile(p)
			if string(after) != tt.content {
				t.Fatal("OpenFile changed a file it refused")
			}
		})
	}
	t.Run("good file opens", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "keys.json")
		if err := os.WriteFile(p, []byte(good), 0o600); err != nil {
			t.Fatal(err)
		}
		k := mustGet(t, openFile(t, p), "key_a")
		if k.Tenant != "t" || len(k.Hash) != 2 {
			t.Fatalf("Get = %s", describe(k))
		}
	})
}

func TestFileStoreLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys.json")
	first, err := keys.OpenFile(p)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	t.Cleanup(func() { _ = first.Close() })
	// A second open file description conflicts just as another process
	// would.
	if s, err := keys.OpenFile(p); !errors.Is(err, keys.ErrLocked) {
		if err == nil {
			_ = s.Close()
		}
		t.Fatalf("second OpenFile = %v; want ErrLocked", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	openFile(t, p)
}

func TestFileStoreWrites(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keys.json")
	// A temporary file left by a crash is cleaned up at open.
	stale := filepath.Join(dir, ".keys.json.123.tmp")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openFile(t, p)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temporary file still there: %v", err)
	}
	// Open creates the file, so an unwritable folder fails early.
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("OpenFile did not create the file: %v", err)
	}
	k := newRecord(time.Now())
	mustCreate(t, s, k)
	if _, err := s.Revoke(t.Context(), k.ID, time.Now()); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v; want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "keys.json" && e.Name() != "keys.json.lock" {
			t.Fatalf("unexpected file %s left in the folder", e.Name())
		}
	}
}

func TestOpenFileMissingFolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing", "keys.json")
	if s, err := keys.OpenFile(p); err == nil {
		_ = s.Close()
		t.Fatal("OpenFile in a missing folder succeeded")
	}
}
