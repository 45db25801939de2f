// Package blob stores job artifacts (inputs and results) behind one
// interface. Keys are slash-separated relative paths such as
// "jobs/<id>/input".
package blob

import (
	"context"
	"errors"
	"io"
	"strings"
)

// Sentinel errors.
var (
	// ErrNotFound: no object under that key.
	ErrNotFound = errors.New("blob not found")
	// ErrInvalidKey: the key is empty, absolute or escapes the store.
	ErrInvalidKey = errors.New("invalid blob key")
)

// TooLargeError is returned by Put when the stream passes its limit; nothing
// is stored then.
type TooLargeError struct {
	// Limit is the maximum the caller allowed.
	Limit int64
	// Read is how many bytes had arrived when the limit was passed.
	Read int64
}

func (e *TooLargeError) Error() string {
	return "blob exceeds the size limit"
}

// Info describes a stored object.
type Info struct {
	Size   int64
	SHA256 string
}

// Store keeps artifacts.
type Store interface {
	// Put streams r to key, hashing while it writes, and never holds the
	// whole object in memory. The object appears whole or not at all. A
	// positive limit bounds the size (TooLargeError).
	Put(ctx context.Context, key string, r io.Reader, limit int64) (Info, error)
	// Open reads the object, or ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, Info, error)
	// DeletePrefix removes every object whose key starts with prefix + "/",
	// and the object named prefix itself.
	DeletePrefix(ctx context.Context, prefix string) error
	// Ping reports whether the store is usable.
	Ping(ctx context.Context) error
}

// validKey rejects keys that could escape the store's root.
func validKey(key string) bool {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return false
	}
	for part := range strings.SplitSeq(key, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".tmp-") {
			return false
		}
	}
	return true
}
