package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newLocal(t *testing.T) *Local {
	t.Helper()
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalRoundTrip(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("docstrange "), 10000)
	info, err := l.Put(ctx, "jobs/a/input", bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if info.Size != int64(len(data)) || info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("info = %+v, want size %d sha %x", info, len(data), sum)
	}
	rc, oi, err := l.Open(ctx, "jobs/a/input")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, data) || oi.Size != int64(len(data)) {
		t.Fatalf("read back %d bytes (info %d), want %d", len(got), oi.Size, len(data))
	}
	if err := l.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLocalPutLimits(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		size    int
		limit   int64
		wantErr bool
	}{
		{name: "under", size: 10, limit: 11},
		{name: "exact", size: 11, limit: 11},
		{name: "over", size: 12, limit: 11, wantErr: true},
		{name: "unlimited", size: 1 << 20, limit: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLocal(t)
			_, err := l.Put(ctx, "k", bytes.NewReader(make([]byte, tt.size)), tt.limit)
			var tl *TooLargeError
			if tt.wantErr != errors.As(err, &tl) {
				t.Fatalf("err = %v, want too large %v", err, tt.wantErr)
			}
			_, _, openErr := l.Open(ctx, "k")
			if tt.wantErr && !errors.Is(openErr, ErrNotFound) {
				t.Fatalf("object stored despite limit: %v", openErr)
			}
			if tt.wantErr && tl.Limit != tt.limit {
				t.Fatalf("limit %d, want %d", tl.Limit, tt.limit)
			}
			assertNoTemp(t, l.root)
		})
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("client went away")
	}
	f.n--
	return copy(p, "abc"), nil
}

func TestLocalPutFailureLeavesNothing(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	if _, err := l.Put(ctx, "jobs/x/input", &failingReader{n: 3}, 0); err == nil {
		t.Fatal("want error from failing reader")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Put(cctx, "jobs/y/input", strings.NewReader("data"), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
	for _, k := range []string{"jobs/x/input", "jobs/y/input"} {
		if _, _, err := l.Open(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: %v, want not found", k, err)
		}
	}
	assertNoTemp(t, l.root)
}

func TestLocalInvalidKeys(t *testing.T) {
	l := newLocal(t)
	for _, k := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", `a\b`, ".tmp-x", "a/./b"} {
		if _, err := l.Put(context.Background(), k, strings.NewReader("x"), 0); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}

func TestLocalDeletePrefix(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	for _, k := range []string{"jobs/a/input", "jobs/a/result.json", "jobs/ab/input"} {
		if _, err := l.Put(ctx, k, strings.NewReader(k), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.DeletePrefix(ctx, "jobs/a"); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bool{"jobs/a/input": false, "jobs/a/result.json": false, "jobs/ab/input": true} {
		_, _, err := l.Open(ctx, k)
		if (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", k, err == nil, want)
		}
	}
	if err := l.DeletePrefix(ctx, "jobs/missing"); err != nil {
		t.Fatalf("deleting a missing prefix: %v", err)
	}
}

func assertNoTemp(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}
