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

// Store is one upload store with its locker.
type Store struct {
	composer   *tusd.StoreComposer
	core       tusd.DataStore
	terminater tusd.TerminaterDataStore
	locker     tusd.Locker
	dir        string
	close      func() error
}

// Backend is what a tusd store offers beyond the core: termination, deferred
// lengths and concatenation, which every store the edge uses has.
type Backend interface {
	tusd.DataStore
	tusd.TerminaterDataStore
	UseIn(*tusd.StoreComposer)
}

// New wraps a tusd store and locker. dir is the filestore's folder ("" for
// other stores); closeFn, if not nil, stops the locker.
func New(store Backend, locker tusd.Locker, dir string, closeFn func() error) *Store {
	c := tusd.NewStoreComposer()
	store.UseIn(c)
	c.UseLocker(locker)
	return &Store{composer: c, core: store, terminater: store, locker: locker, dir: dir, close: closeFn}
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

// Close stops the locker's background work.
func (s *Store) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
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
