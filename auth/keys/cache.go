package keys

import (
	"sync"
	"time"
)

// maxCacheEntries bounds the Keyring's cache. Only ids that exist in the
// store are cached, so the bound protects against a very large key set
// rather than garbage ids.
const maxCacheEntries = 100_000

// cache holds recently read records by the xid part of their id. A hit
// takes only the read lock, since Verify runs on every request.
type cache struct {
	max int

	mu      sync.RWMutex
	entries map[string]cacheEntry
	// gen counts drops. A reader notes it before reading the store and
	// put refuses if it moved, so a record read before a Revoke cannot be
	// cached after the Revoke dropped it.
	gen uint64
}

type cacheEntry struct {
	key     Key
	expires time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, entries: make(map[string]cacheEntry)}
}

// get returns the record and when it expires, if it was cached and has not
// expired at now.
func (c *cache) get(xid string, now time.Time) (Key, time.Time, bool) {
	c.mu.RLock()
	e, ok := c.entries[xid]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return Key{}, time.Time{}, false
	}
	return e.key, e.expires, true
}

// generation returns the drop count to pass to put.
func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches k until expires, unless a drop happened since gen was read.
// When the cache is full it evicts an arbitrary entry: Go's map iteration
// starts at a random place.
func (c *cache) put(xid string, k Key, expires time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.entries[xid]; !ok && len(c.entries) >= c.max {
		for victim := range c.entries {
			delete(c.entries, victim)
			break
		}
	}
	c.entries[xid] = cacheEntry{key: k, expires: expires}
}

// drop forgets the record at once.
func (c *cache) drop(xid string) {
	c.mu.Lock()
	delete(c.entries, xid)
	c.gen++
	c.mu.Unlock()
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
