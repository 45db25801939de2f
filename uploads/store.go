// Package uploads holds the resumable-upload storage the edge shares between
// the tus handler (which writes uploads) and the job API (which turns a
// finished upload into a job): tusd's data store and locker, and the
// metadata the edge keeps on every upload.
package uploads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/docstrange/mesh/uploads/index"
)

// Metadata keys the edge sets on every upload; clients may not send keys
// with the Reserved prefix.
const (
	MetaOwner   = "docstrange_owner"
	MetaCreated = "docstrange_created"
	Reserved    = "docstrange_"
)

// lockWait bounds how long Terminate waits for a PATCH in flight to let go.
const lockWait = 5 * time.Second

// Store is one upload store with its locker and its expiry index.
type Store struct {
	composer   *tusd.StoreComposer
	core       tusd.DataStore
	terminater tusd.TerminaterDataStore
	locker     tusd.Locker
	index      index.Index
	ttl        time.Duration
	dir        string
	close      func() error
}

// Config assembles a Store.
type Config struct {
	// Backend is tusd's store: filestore or s3store.
	Backend Backend
	// Locker is tusd's locker: memorylocker on one node, Redis otherwise.
	Locker tusd.Locker
	// Index records every upload's expiry, so expired ones are found
	// without listing the store (S3 cannot list cheaply).
	Index index.Index
	// TTL is how long an upload lives after its creation.
	TTL time.Duration
	// Dir is the filestore's folder, "" for other stores.
	Dir string
	// Close, if set, stops the locker; the index is closed too.
	Close func() error
}

// Backend is what a tusd store offers beyond the core: termination, deferred
// lengths and concatenation, which every store the edge uses has.
type Backend interface {
	tusd.DataStore
	tusd.TerminaterDataStore
	UseIn(*tusd.StoreComposer)
}

// New assembles a Store. Every upload created through it is indexed with
// its expiry before tusd answers the creation.
func New(cfg Config) *Store {
	s := &Store{core: cfg.Backend, terminater: cfg.Backend, locker: cfg.Locker, index: cfg.Index, ttl: cfg.TTL, dir: cfg.Dir, close: cfg.Close}
	c := tusd.NewStoreComposer()
	cfg.Backend.UseIn(c)
	// The backend registered itself as the core; creations go through the
	// index first.
	c.UseCore(indexedCore{DataStore: cfg.Backend, s: s})
	c.UseLocker(cfg.Locker)
	s.composer = c
	return s
}

// indexedCore records each new upload in the index.
type indexedCore struct {
	tusd.DataStore
	s *Store
}

// NewUpload creates the upload, then indexes it; an upload that cannot be
// indexed is deleted again, so none escapes expiry.
func (c indexedCore) NewUpload(ctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	up, err := c.DataStore.NewUpload(ctx, info)
	if err != nil {
		return nil, err
	}
	created, err := up.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	e := index.Entry{ID: created.ID, Owner: Owner(created), Expires: time.Now().Add(c.s.ttl)}
	if err := c.s.index.Add(ctx, e); err != nil {
		if terr := c.s.terminater.AsTerminatableUpload(up).Terminate(context.WithoutCancel(ctx)); terr != nil {
			return nil, fmt.Errorf("indexing upload %q: %w (and deleting it: %v)", created.ID, err, terr)
		}
		return nil, fmt.Errorf("indexing upload %q: %w", created.ID, err)
	}
	return up, nil
}

// TTL is how long an upload lives after its creation.
func (s *Store) TTL() time.Duration { return s.ttl }

// Expire deletes, through the store and under each upload's lock, the
// uploads whose expiry has passed, at most limit of them, and reports how
// many it deleted.
func (s *Store) Expire(ctx context.Context, now time.Time, limit int) (int, error) {
	due, err := s.index.Due(ctx, now, limit)
	if err != nil {
		return 0, fmt.Errorf("finding expired uploads: %w", err)
	}
	deleted := 0
	for _, e := range due {
		termErr := s.Terminate(ctx, e.ID)
		if termErr != nil && !IsNotFound(termErr) {
			return deleted, fmt.Errorf("deleting expired upload %q: %w", e.ID, termErr)
		}
		if err := s.index.Remove(ctx, e.ID); err != nil {
			return deleted, fmt.Errorf("unindexing upload %q: %w", e.ID, err)
		}
		if termErr == nil {
			deleted++
		}
	}
	return deleted, nil
}

// Composer is the store for tusd's handler.
func (s *Store) Composer() *tusd.StoreComposer { return s.composer }

// Dir is the filestore's folder, empty for other stores.
func (s *Store) Dir() string { return s.dir }

// Info reads an upload's record.
func (s *Store) Info(ctx context.Context, id string) (tusd.FileInfo, error) {
	up, err := s.core.GetUpload(ctx, id)
	if err != nil {
		return tusd.FileInfo{}, err
	}
	return up.GetInfo(ctx)
}

// Open streams a finished upload's bytes.
func (s *Store) Open(ctx context.Context, id string) (io.ReadCloser, error) {
	up, err := s.core.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return up.GetReader(ctx)
}

// Terminate deletes an upload under its lock, so a PATCH in flight is
// asked to stop first.
func (s *Store) Terminate(ctx context.Context, id string) error {
	lock, err := s.locker.NewLock(id)
	if err != nil {
		return fmt.Errorf("locking upload %q: %w", id, err)
	}
	lctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	if err := lock.Lock(lctx, func() {}); err != nil {
		return fmt.Errorf("locking upload %q: %w", id, err)
	}
	defer lock.Unlock()
	up, err := s.core.GetUpload(ctx, id)
	if err != nil {
		return err
	}
	return s.terminater.AsTerminatableUpload(up).Terminate(ctx)
}

// Close stops the locker's background work and closes the index.
func (s *Store) Close() error {
	var err error
	if s.close != nil {
		err = s.close()
	}
	return errors.Join(err, s.index.Close())
}

// Owner is the tenant that created the upload.
func Owner(info tusd.FileInfo) string { return info.MetaData[MetaOwner] }

// Created is when the edge created the upload; ok is false for an upload
// the edge did not create.
func Created(info tusd.FileInfo) (t time.Time, ok bool) {
	t, err := time.Parse(time.RFC3339Nano, info.MetaData[MetaCreated])
	return t, err == nil
}

// Finished reports whether every byte of the upload has arrived.
func Finished(info tusd.FileInfo) bool {
	return !info.SizeIsDeferred && info.Offset == info.Size
}

// IsNotFound reports a missing upload. tusd.Error holds a map, so
// errors.Is cannot compare it: match the code.
func IsNotFound(err error) bool {
	var te tusd.Error
	return errors.Is(err, os.ErrNotExist) || errors.As(err, &te) && te.ErrorCode == tusd.ErrNotFound.ErrorCode
}
