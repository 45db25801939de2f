// Package keys issues, stores and verifies API keys for the edge's authn
// module and the admin API.
//
// A key given to a client reads
//
//	dsk_<xid>_<secret>
//
// where <xid> is the 20-character id of the record (its ID is "key_<xid>")
// and <secret> is 32 random bytes in unpadded base32 with the lowercase
// alphabet a-z2-7 (52 characters, never '_', so the string splits without
// ambiguity and survives double-click selection). Because the key carries its
// id, Verify reads one record and compares HMAC-SHA256(pepper, secret) with
// the stored hash in constant time. Neither the key nor the secret is stored
// anywhere; a leaked store without the pepper does not yield usable keys.
package keys

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Sentinel errors. Callers compare with errors.Is.
var (
	// ErrNotFound means no record has the id.
	ErrNotFound = errors.New("key not found")
	// ErrExists means Create was given an id that is taken.
	ErrExists = errors.New("key id already exists")
	// ErrInvalid means a presented key is malformed, unknown or has the
	// wrong secret. It is one error on purpose: a caller must not learn
	// which, and must answer 401 without detail.
	ErrInvalid = errors.New("invalid api key")
	// ErrRevoked means the presented key is genuine but was revoked. Verify
	// returns it only after the secret matched.
	ErrRevoked = errors.New("api key revoked")
	// ErrClosed means the store was used after Close.
	ErrClosed = errors.New("key store closed")
	// ErrLocked means another process holds the key file open.
	ErrLocked = errors.New("key file locked by another process")
)

// Key is one API key's record. The secret is never stored: only Hash.
type Key struct {
	// ID is public: "key_" followed by a 20-character xid.
	ID string `json:"id"`
	// Tenant owns the key.
	Tenant string `json:"tenant"`
	// Tier names the policy tier requests with this key run under.
	Tier string `json:"tier"`
	// Name is an optional label chosen by the issuer.
	Name string `json:"name,omitempty"`
	// CreatedAt is when the key was issued, in UTC.
	CreatedAt time.Time `json:"created_at"`
	// RevokedAt is when the key was first revoked; nil while it is valid.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Hash is HMAC-SHA256(pepper, secret). Stores persist it; it is never
	// rendered in API JSON.
	Hash []byte `json:"-"`
}

// Store persists key records. Implementations: FileStore (embedded mode) and
// RedisStore (production). They are safe for concurrent use.
type Store interface {
	// Create stores k, or returns ErrExists if its id is taken.
	Create(ctx context.Context, k Key) error
	// Get returns the record with the id, or ErrNotFound.
	Get(ctx context.Context, id string) (Key, error)
	// List returns all records, revoked included, oldest first (ties by id).
	List(ctx context.Context) ([]Key, error)
	// Revoke marks the record revoked at the given time and returns it, or
	// returns ErrNotFound. Revoking twice keeps the first time and is not an
	// error.
	Revoke(ctx context.Context, id string, at time.Time) (Key, error)
	// Close releases the store's resources. It does not close clients the
	// caller owns.
	Close() error
}

// FieldError reports an invalid input to Issue, naming the field so that
// the admin API can answer 400 with it.
type FieldError struct {
	// Field is the input's name: "tenant", "tier" or "name".
	Field string
	// Message says what is wrong, without echoing the value.
	Message string
}

// Error returns "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// sortKeys orders records oldest first, ties by id, as Store.List promises.
func sortKeys(ks []Key) {
	slices.SortFunc(ks, func(a, b Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
