package keys

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// fileVersion is the format of the key file; OpenFile refuses others.
const fileVersion = 1

// fileDoc is the key file's JSON.
type fileDoc struct {
	Version int      `json:"version"`
	Keys    []record `json:"keys"`
}

// record is a Key as stored: unlike Key's API JSON it carries the hash.
type record struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant"`
	Tier      string     `json:"tier"`
	Name      string     `json:"name,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Hash      string     `json:"hash"` // hex
}

func toRecord(k Key) record {
	return record{
		ID: k.ID, Tenant: k.Tenant, Tier: k.Tier, Name: k.Name,
		CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt,
		Hash: hex.EncodeToString(k.Hash),
	}
}

func (r record) key() (Key, error) {
	h, err := hex.DecodeString(r.Hash)
	if err != nil || len(h) == 0 {
		return Key{}, fmt.Errorf("key %q has a bad hash", r.ID)
	}
	if r.ID == "" {
		return Key{}, errors.New("record without id")
	}
	return Key{
		ID: r.ID, Tenant: r.Tenant, Tier: r.Tier, Name: r.Name,
		CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt, Hash: h,
	}, nil
}

// FileStore keeps every record in one JSON file, for embedded mode: a
// single edge process with a data folder. The file is read at open, served
// from memory, and rewritten atomically on every change, so a crash leaves
// either the old file or the new one. A lock file (path + ".lock") keeps a
// second process from opening it at the same time.
type FileStore struct {
	path string
	lock *os.File

	mu     sync.RWMutex
	keys   map[string]Key
	closed bool
}

// OpenFile opens the key file at path, creating it (mode 0600) if it does
// not exist. It refuses a file it cannot parse rather than start empty, and
// returns ErrLocked if another process has it open.
func OpenFile(path string) (*FileStore, error) {
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("opening key file %s: %w", path, err)
	}
	s := &FileStore{path: path, lock: lock, keys: make(map[string]Key)}
	if err := s.load(); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("opening key file %s: %w", path, err)
	}
	return s, nil
}

// load reads the file, or writes an empty one if there is none yet so that a
// data folder that cannot be written fails at open rather than at the first
// Issue.
func (s *FileStore) load() error {
	s.removeTemps()
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s.write(Key{})
	}
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var doc fileDoc
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("parsing (the file is corrupt; restore it from a backup): %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("parsing: data after the JSON document (the file is corrupt; restore it from a backup)")
	}
	if doc.Version != fileVersion {
		return fmt.Errorf("parsing: version %d; this build reads version %d", doc.Version, fileVersion)
	}
	for _, r := range doc.Keys {
		k, err := r.key()
		if err != nil {
			return fmt.Errorf("parsing: %w", err)
		}
		if _, dup := s.keys[k.ID]; dup {
			return fmt.Errorf("parsing: key %q appears twice", k.ID)
		}
		s.keys[k.ID] = k
	}
	return nil
}

// removeTemps deletes temporary files a crash left behind. Holding the lock
// means no other process is writing one.
func (s *FileStore) removeTemps() {
	olds, _ := filepath.Glob(filepath.Join(filepath.Dir(s.path), "."+filepath.Base(s.path)+".*.tmp"))
	for _, p := range olds {
		_ = os.Remove(p)
	}
}

// Create implements Store.
func (s *FileStore) Create(_ context.Context, k Key) error {
	if k.ID == "" || len(k.Hash) == 0 {
		return errors.New("creating key: record needs an id and a hash")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, ok := s.keys[k.ID]; ok {
		return ErrExists
	}
	k = cloneKey(k)
	k.CreatedAt = k.CreatedAt.UTC().Round(0)
	if k.RevokedAt != nil {
		*k.RevokedAt = k.RevokedAt.UTC().Round(0)
	}
	err := s.write(k)
	if err != nil && !errors.Is(err, errSyncingDir) {
		return fmt.Errorf("creating key %q: %w", k.ID, err)
	}
	s.keys[k.ID] = k // the file has it: keep memory in step with the disk
	if err != nil {
		return fmt.Errorf("creating key %q: %w", k.ID, err)
	}
	return nil
}

// Get implements Store.
func (s *FileStore) Get(_ context.Context, id string) (Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return Key{}, ErrClosed
	}
	k, ok := s.keys[id]
	if !ok {
		return Key{}, ErrNotFound
	}
	return cloneKey(k), nil
}

// List implements Store.
func (s *FileStore) List(_ context.Context) ([]Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	ks := make([]Key, 0, len(s.keys))
	for _, k := range s.keys {
		ks = append(ks, cloneKey(k))
	}
	sortKeys(ks)
	return ks, nil
}

// Revoke implements Store.
func (s *FileStore) Revoke(_ context.Context, id string, at time.Time) (Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Key{}, ErrClosed
	}
	k, ok := s.keys[id]
	if !ok {
		return Key{}, ErrNotFound
	}
	if k.RevokedAt != nil {
		return cloneKey(k), nil
	}
	at = at.UTC().Round(0)
	k.RevokedAt = &at
	err := s.write(k)
	if err != nil && !errors.Is(err, errSyncingDir) {
		return Key{}, fmt.Errorf("revoking key %q: %w", id, err)
	}
	s.keys[id] = k // the file has it: keep memory in step with the disk
	if err != nil {
		return Key{}, fmt.Errorf("revoking key %q: %w", id, err)
	}
	return cloneKey(k), nil
}

// Close releases the lock. Later calls return ErrClosed.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.lock.Close(); err != nil { // closing drops the flock
		return fmt.Errorf("closing key file lock: %w", err)
	}
	return nil
}

// errSyncingDir marks a write whose rename happened but whose folder fsync
// failed: the new file is in place, though it may not survive a power loss.
var errSyncingDir = errors.New("syncing folder")

// write rewrites the file with the current records plus changed, which
// replaces the record with its id. The caller holds s.mu and updates the map
// only once the new file is in place (success, or errSyncingDir), so memory
// never runs ahead of or behind the disk.
func (s *FileStore) write(changed Key) error {
	doc := fileDoc{Version: fileVersion, Keys: make([]record, 0, len(s.keys)+1)}
	ks := make([]Key, 0, len(s.keys)+1)
	for id, k := range s.keys {
		if id != changed.ID {
			ks = append(ks, k)
		}
	}
	if changed.ID != "" {
		ks = append(ks, changed)
	}
	sortKeys(ks)
	for _, k := range ks {
		doc.Keys = append(doc.Keys, toRecord(k))
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	return writeAtomic(s.path, append(b, '\n'))
}

// writeAtomic replaces path with data: a temporary file in the same folder
// (mode 0600), fsync, rename over path, fsync the folder.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("setting mode: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing temporary file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing temporary file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing temporary file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("renaming temporary file: %w", err)
	}
	renamed = true
	if syncErr := syncDir(dir); syncErr != nil {
		return fmt.Errorf("%w: %w", errSyncingDir, syncErr)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// cloneKey copies the parts of k that alias memory, so callers cannot change
// a store's records through what it returned.
func cloneKey(k Key) Key {
	k.Hash = bytes.Clone(k.Hash)
	if k.RevokedAt != nil {
		t := *k.RevokedAt
		k.RevokedAt = &t
	}
	return k
}
