package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Local stores objects as files under Root.
type Local struct {
	root string
}

var _ Store = (*Local)(nil)

// NewLocal creates root if needed.
func NewLocal(root string) (*Local, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("creating blob root: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving blob root: %w", err)
	}
	return &Local{root: abs}, nil
}

// Path returns the file behind key, for readers that need a real file (the
// PDF engine reads through a file descriptor).
func (l *Local) Path(key string) (string, error) {
	if !validKey(key) {
		return "", ErrInvalidKey
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// ctxReader stops a long copy when the request or job is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Put implements Store: it writes to a temporary file beside the target,
// syncs it and renames it into place, so a crash leaves either nothing or
// the whole object.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, limit int64) (Info, error) {
	path, err := l.Path(key)
	if err != nil {
		return Info{}, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Info{}, fmt.Errorf("creating blob folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return Info{}, fmt.Errorf("creating blob: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	src := io.Reader(ctxReader{ctx, r})
	if limit > 0 {
		src = io.LimitReader(src, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return Info{}, fmt.Errorf("writing blob: %w", err)
	}
	if limit > 0 && n > limit {
		return Info{}, &TooLargeError{Limit: limit, Read: n}
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, fmt.Errorf("syncing blob: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("closing blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Info{}, fmt.Errorf("renaming blob: %w", err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return Info{}, err
	}
	return Info{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening blob folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing blob folder: %w", err)
	}
	return nil
}

// Open implements Store. Info.SHA256 is left empty: hashing on every read
// would cost a full pass; the job record keeps the digest.
func (l *Local) Open(ctx context.Context, key string) (io.ReadSeekCloser, Info, error) {
	path, err := l.Path(key)
	if err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, ErrNotFound
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("opening blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("reading blob size: %w", err)
	}
	return f, Info{Size: st.Size()}, nil
}

// DeletePrefix implements Store.
func (l *Local) DeletePrefix(ctx context.Context, prefix string) error {
	path, err := l.Path(prefix)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("deleting blobs %q: %w", prefix, err)
	}
	return nil
}

// Ping implements Store: the root must exist and be writable.
func (l *Local) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(l.root, ".tmp-ping-*")
	if err != nil {
		return fmt.Errorf("writing to blob root: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}
