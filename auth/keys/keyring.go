package keys

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/rs/xid"
	"golang.org/x/sync/singleflight"
)

// Limits on Config.
const (
	// MinPepperLen is the shortest Config.Pepper accepted, in bytes.
	MinPepperLen = 32
	// DefaultCacheTTL is Config.CacheTTL's default.
	DefaultCacheTTL = 500 * time.Millisecond
	// MaxCacheTTL bounds Config.CacheTTL (exclusive): a revocation must hold
	// on every edge within a second.
	MaxCacheTTL = time.Second
)

// Config tunes a Keyring.
type Config struct {
	// Pepper keys the HMAC of secrets. Required, at least MinPepperLen
	// bytes, the same on every edge, and kept outside the store: without it
	// a copy of the store cannot be used to check guesses. Changing it
	// invalidates every key.
	Pepper []byte
	// CacheTTL is how long a record read from the store is trusted without
	// reading it again, so it bounds how long a revocation on another edge
	// takes to apply here. Default DefaultCacheTTL (500ms); zero means the
	// default, and it must be below MaxCacheTTL (1s).
	CacheTTL time.Duration
	// Now tells the time for CreatedAt, RevokedAt and cache expiry. Default
	// time.Now.
	Now func() time.Time
}

// Keyring issues and verifies API keys over a Store. It is what the authn
// module and the admin API use, and it is safe for concurrent use. It does
// not own the store: the caller closes it.
type Keyring struct {
	store Store
	ttl   time.Duration
	now   func() time.Time
	cache *cache
	macs  sync.Pool // of *macState
	// loads has one store read in flight per key id: the requests that
	// miss the cache together share it, and a record refreshed ahead of
	// its expiry is read once.
	loads singleflight.Group
}

// macState is one pooled HMAC with its buffers, so Verify does not allocate
// for them on every request.
type macState struct {
	h      hash.Hash
	secret [secretBytes]byte
	sum    [sha256.Size]byte
}

// NewKeyring checks cfg, fills in its defaults and returns a Keyring over
// store.
func NewKeyring(store Store, cfg Config) (*Keyring, error) {
	if store == nil {
		return nil, errors.New("configuring keyring: store is nil")
	}
	if len(cfg.Pepper) < MinPepperLen {
		return nil, fmt.Errorf("configuring keyring: pepper is %d bytes; need at least %d", len(cfg.Pepper), MinPepperLen)
	}
	switch {
	case cfg.CacheTTL == 0:
		cfg.CacheTTL = DefaultCacheTTL
	case cfg.CacheTTL < 0 || cfg.CacheTTL >= MaxCacheTTL:
		return nil, fmt.Errorf("configuring keyring: cache ttl %s outside (0, %s)", cfg.CacheTTL, MaxCacheTTL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pepper := append([]byte(nil), cfg.Pepper...)
	k := &Keyring{
		store: store,
		ttl:   cfg.CacheTTL,
		now:   cfg.Now,
		cache: newCache(maxCacheEntries),
	}
	k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, pepper)} }
	return k, nil
}

// Issue creates a key for tenant at tier and returns its record and the key
// string. The key string is shown to the client once and exists nowhere
// else. Invalid inputs give a *FieldError.
func (k *Keyring) Issue(ctx context.Context, tenant, tier, name string) (Key, string, error) {
	if err := validateIssue(tenant, tier, name); err != nil {
		return Key{}, "", err
	}
	raw, secret, err := newSecret()
	if err != nil {
		return Key{}, "", fmt.Errorf("issuing key: %w", err)
	}
	m := k.getMAC()
	m.secret = raw
	sum := bytes.Clone(k.sum(m)) // m.sum goes back to the pool
	k.putMAC(m)

	rec := Key{
		ID:        IDPrefix + xid.New().String(),
		Tenant:    tenant,
		Tier:      tier,
		Name:      name,
		CreatedAt: k.now().UTC().Round(0),
		Hash:      sum,
	}
	if err := k.store.Create(ctx, rec); err != nil {
		return Key{}, "", fmt.Errorf("issuing key: %w", err)
	}
	return rec, formatKey(rec.ID, secret), nil
}

// Verify returns the record of the presented key string. It returns
// ErrInvalid for a malformed or unknown key or a wrong secret, and
// ErrRevoked for a revoked one (only once the secret matched). Any other
// error is the store's, wrapped: errors.Is(err, ErrInvalid) is false and the
// caller should answer 503. The returned record has no Hash.
//
// A record is read from the store at most once per CacheTTL per edge; the
// secret is compared on every call.
func (k *Keyring) Verify(ctx context.Context, presented string) (Key, error) {
	m := k.getMAC()
	defer k.putMAC(m)
	x, ok := parseKey(presented, &m.secret)
	if !ok {
		return Key{}, ErrInvalid
	}
	// Hash before the lookup, so an unknown id costs what a known one does.
	sum := k.sum(m)

	now := k.now()
	rec, expires, hit := k.cache.get(x, now)
	switch {
	case !hit:
		// Every request for a busy key misses at once when its record
		// expires; one of them reads the store and the rest wait for it,
		// rather than each sending a read.
		v, err, _ := k.loads.Do(x, func() (any, error) { return k.load(context.WithoutCancel(ctx), x) })
		if errors.Is(err, ErrNotFound) {
			return Key{}, ErrInvalid
		}
		if err != nil {
			return Key{}, fmt.Errorf("verifying key: %w", err)
		}
		rec = v.(Key)
	case expires.Sub(now) < k.ttl/refreshAhead:
		// Read a busy key's record again shortly before it expires, in
		// the background, so that its requests never wait on the store;
		// until then the cached record answers, no older than before.
		go k.loads.Do(x, func() (any, error) { return k.load(context.Background(), x) })
	}
	if !hmac.Equal(sum, rec.Hash) {
		return Key{}, ErrInvalid
	}
	if rec.RevokedAt != nil {
		return Key{}, ErrRevoked
	}
	rec.Hash = nil
	return rec, nil
}

// refreshAhead: a cached record is read again once less than 1/refreshAhead
// of its CacheTTL is left.
const refreshAhead = 4

// load reads the record of xid from the store and caches it for CacheTTL
// from when the read began, unless a Revoke dropped it meanwhile.
func (k *Keyring) load(ctx context.Context, xid string) (Key, error) {
	now := k.now()
	gen := k.cache.generation()
	rec, err := k.store.Get(ctx, IDPrefix+xid)
	if err != nil {
		return Key{}, err
	}
	k.cache.put(xid, rec, now.Add(k.ttl), gen)
	return rec, nil
}

// Get returns the record with the id from the store, bypassing the cache.
func (k *Keyring) Get(ctx context.Context, id string) (Key, error) {
	rec, err := k.store.Get(ctx, id)
	if err != nil {
		return Key{}, fmt.Errorf("getting key %q: %w", id, err)
	}
	return rec, nil
}

// List returns every record, revoked included, oldest first.
func (k *Keyring) List(ctx context.Context) ([]Key, error) {
	ks, err := k.store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	return ks, nil
}

// Revoke marks the key revoked now (or keeps an earlier revocation) and
// drops it from this Keyring's cache at once. Other edges notice within
// their CacheTTL.
func (k *Keyring) Revoke(ctx context.Context, id string) (Key, error) {
	rec, err := k.store.Revoke(ctx, id, k.now().UTC().Round(0))
	// Drop after the store write, so a concurrent miss that read the record
	// before it cannot cache it afterwards (see cache.gen).
	if ValidID(id) {
		k.cache.drop(id[len(IDPrefix):])
	}
	if err != nil {
		return Key{}, fmt.Errorf("revoking key %q: %w", id, err)
	}
	return rec, nil
}

func (k *Keyring) getMAC() *macState {
	return k.macs.Get().(*macState)
}

// putMAC wipes the secret and pools m again.
func (k *Keyring) putMAC(m *macState) {
	m.secret = [secretBytes]byte{}
	k.macs.Put(m)
}

// sum computes HMAC-SHA256(pepper, m.secret) into m.sum and returns it.
func (k *Keyring) sum(m *macState) []byte {
	m.h.Reset()
	m.h.Write(m.secret[:])
	return m.h.Sum(m.sum[:0])
}
