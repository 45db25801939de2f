package docstrange

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"
	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/memorylocker"

	"github.com/docstrange/mesh/uploads"
	"github.com/docstrange/mesh/uploads/redislock"
)

type sharedUploads struct{ *uploads.Store }

func (s sharedUploads) Destruct() error { return s.Close() }

// openUploads opens the resumable-upload store: tusd's filestore in the
// data folder, locked in memory on a single node and through Redis when
// edges share one. It is pooled, so a config reload keeps the locks that
// PATCHes in flight hold.
func (a *App) openUploads() error {
	dir := filepath.Join(a.DataDir, "uploads")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating uploads folder: %w", err)
	}
	key := "uploads:file:" + dir
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		store := filestore.New(dir)
		if rdb, prefix := a.SharedRedis(); rdb != nil {
			l := redislock.New(rdb, redislock.Config{Prefix: prefix + "tus:lock:", Logger: a.log.With("component", "uploads")})
			return sharedUploads{uploads.New(store, l, dir, l.Close)}, nil
		}
		return sharedUploads{uploads.New(store, memorylocker.New(), dir, nil)}, nil
	})
	if err != nil {
		return fmt.Errorf("opening upload store: %w", err)
	}
	a.shared = append(a.shared, keyed{key})
	a.uploads = v.(sharedUploads).Store
	return nil
}

// Uploads returns the resumable-upload store.
func (a *App) Uploads() *uploads.Store { return a.uploads }
