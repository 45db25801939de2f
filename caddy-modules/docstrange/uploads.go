package docstrange

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/memorylocker"

	"github.com/docstrange/mesh/uploads"
	"github.com/docstrange/mesh/uploads/index"
	"github.com/docstrange/mesh/uploads/redislock"
	"github.com/docstrange/mesh/uploads/s3"
)

// Upload stores.
const (
	UploadStoreFile = "file"
	UploadStoreS3   = "s3"
)

// Defaults of UploadsConfig.
const (
	DefaultUploadTTL     = 24 * time.Hour
	DefaultUploadCleanup = time.Minute
	// expireBatch bounds the uploads one cleanup pass deletes.
	expireBatch = 500
)

// UploadsConfig configures resumable-upload storage.
type UploadsConfig struct {
	// Store is "file" (tusd's filestore in DataDir/uploads) or "s3"
	// (tusd's s3store). Default: file.
	Store string `json:"store,omitempty"`
	// S3 configures the s3 store; credentials come from the environment
	// variables it names.
	S3 *s3.Config `json:"s3,omitempty"`
	// ExpireAfter is how long an upload lives after its creation. Default:
	// 24h.
	ExpireAfter caddy.Duration `json:"expire_after,omitempty"`
	// CleanupInterval is how often expired uploads are deleted. Default: 1m.
	CleanupInterval caddy.Duration `json:"cleanup_interval,omitempty"`
}

func (c *UploadsConfig) setDefaults() error {
	switch c.Store {
	case "":
		c.Store = UploadStoreFile
	case UploadStoreFile:
	case UploadStoreS3:
		if c.S3 == nil {
			return fmt.Errorf("uploads store s3 needs an s3 block")
		}
	default:
		return fmt.Errorf("uploads store %q: must be %q or %q", c.Store, UploadStoreFile, UploadStoreS3)
	}
	if c.ExpireAfter == 0 {
		c.ExpireAfter = caddy.Duration(DefaultUploadTTL)
	}
	if c.CleanupInterval == 0 {
		c.CleanupInterval = caddy.Duration(DefaultUploadCleanup)
	}
	if c.ExpireAfter < caddy.Duration(time.Second) || c.CleanupInterval < caddy.Duration(100*time.Millisecond) {
		return fmt.Errorf("uploads: expire_after must be at least 1s and cleanup_interval at least 100ms")
	}
	return nil
}

type sharedUploads struct{ *uploads.Store }

func (s sharedUploads) Destruct() error { return s.Close() }

// openUploads opens the resumable-upload store, its locker and its expiry
// index: files, memory locks and a bbolt index on a single node; S3 (or
// files), Redis locks and a Redis index when edges share a Redis, so any
// edge can serve any request of an upload. It is pooled, so a config
// reload keeps the locks PATCHes in flight hold.
func (a *App) openUploads(ctx context.Context) error {
	if a.Uploads == nil {
		a.Uploads = &UploadsConfig{}
	}
	c := a.Uploads
	if err := c.setDefaults(); err != nil {
		return err
	}
	dir := filepath.Join(a.DataDir, "uploads")
	key := fmt.Sprintf("uploads:%s:%s", c.Store, dir)
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		cfg := uploads.Config{TTL: time.Duration(c.ExpireAfter)}
		switch c.Store {
		case UploadStoreS3:
			s3cfg := *c.S3
			if s3cfg.TempDir == "" {
				s3cfg.TempDir = filepath.Join(a.DataDir, "uploads-tmp")
			}
			if err := os.MkdirAll(s3cfg.TempDir, 0o700); err != nil {
				return nil, fmt.Errorf("creating uploads temp folder: %w", err)
			}
			store, err := s3.New(ctx, s3cfg)
			if err != nil {
				return nil, err
			}
			cfg.Backend = store
		default:
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("creating uploads folder: %w", err)
			}
			cfg.Backend, cfg.Dir = filestore.New(dir), dir
		}
		if rdb, prefix := a.SharedRedis(); rdb != nil {
			l := redislock.New(rdb, redislock.Config{Prefix: prefix + "tus:lock:", Logger: a.log.With("component", "uploads")})
			cfg.Locker, cfg.Close = l, l.Close
			cfg.Index = index.NewRedis(rdb, prefix+"tus:index:")
		} else {
			cfg.Locker = memorylocker.New()
			idx, err := index.OpenBolt(filepath.Join(a.DataDir, "uploads.db"))
			if err != nil {
				return nil, err
			}
			cfg.Index = idx
		}
		return sharedUploads{uploads.New(cfg)}, nil
	})
	if err != nil {
		return fmt.Errorf("opening upload store: %w", err)
	}
	a.shared = append(a.shared, keyed{key})
	a.uploads = v.(sharedUploads).Store
	return nil
}

// expireUploads deletes expired uploads until ctx ends.
func (a *App) expireUploads(ctx context.Context) {
	t := time.NewTicker(time.Duration(a.Uploads.CleanupInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := a.uploads.Expire(ctx, time.Now(), expireBatch)
			if err != nil {
				a.log.Error("deleting expired uploads", "error", err)
			}
			if n > 0 {
				a.log.Info("expired uploads deleted", "count", n)
			}
		}
	}
}

// UploadStore returns the resumable-upload store.
func (a *App) UploadStore() *uploads.Store { return a.uploads }
